"""The plans of the ticket page's history and of search by address and school, on
PostgreSQL with 300,000 tickets over 20,000 schools (a throwaway database,
triage_plans): `python bench/history_search_plans.py`. Each should read an index
that leads with the school or the address, never the whole ticket table."""
import os
from sqlalchemy import create_engine, text
url = "postgresql+psycopg://postgres@127.0.0.1:5432/triage_plans"
os.system("psql -q -h 127.0.0.1 -U postgres -c 'drop database if exists triage_plans' -c 'create database triage_plans'")
from core.models import Base
engine = create_engine(url)
Base.metadata.create_all(engine)
with engine.begin() as c:
    c.execute(text("insert into office(id,code,name,kind,path,active,timezone,created_at) values (1,'MIN','Kementerian','ministry','/MIN/',true,'Asia/Jakarta',now())"))
    c.execute(text("insert into office(id,code,name,kind,parent_id,path,active,timezone,created_at) select 1+g,'C'||g,'Dinas Kota '||g,'city',1,'/MIN/C'||g||'/',true,'Asia/Jakarta',now() from generate_series(1,100) g"))
    c.execute(text("insert into office(id,code,name,kind,parent_id,path,active,timezone,created_at,email) select 1000+g,'S'||g,(case when g%3=0 then 'SMA Negeri ' else 'SD Negeri ' end)||g||' Kota '||(g%100+1),'school',2+(g%100),'/MIN/C'||(g%100+1)||'/S'||g||'/',true,'Asia/Jakarta',now(),'s'||g||'@sekolah.test' from generate_series(1,20000) g"))
    c.execute(text("""insert into ticket(ref,subject,status,office_id,requester_email,school_id,created_at,updated_at,status_changed_at,sla_paused_seconds)
      select 'HD-'||g, 'Masalah '||g, 'open', 2+(g%20000%100), 's'||(g%20000+1)||'@sekolah.test', 1000+(g%20000+1),
             now()-(g||' minutes')::interval, now()-(g||' minutes')::interval, now(), 0 from generate_series(1,300000) g"""))
    c.execute(text("analyze"))
with engine.connect() as c:
    for name, sql in [
        ("history of a school, a city agent", "select t.id from ticket t where t.school_id=1500 and t.id<>5 and t.office_id in (select id from office where path like '/MIN/C2/%') order by t.created_at desc, t.id desc limit 10"),
        ("history of a requester", "select t.id from ticket t where t.requester_email='s500@sekolah.test' and (t.school_id is null or t.school_id<>1500) order by t.created_at desc, t.id desc limit 10"),
        ("search by address", "select updated_at,id from ticket where requester_email='s500@sekolah.test' order by updated_at desc, id desc limit 201"),
        ("school names by words", "select id from office where to_tsvector('simple', name) @@ to_tsquery('simple','sma & negeri & 1500') limit 200"),
        ("search by schools", "select updated_at,id from ticket where school_id = any(array[1500,1501,1502]) order by updated_at desc, id desc limit 201"),
    ]:
        plan = c.execute(text("explain (analyze, costs off, timing on) " + sql)).scalars().all()
        print("==", name); print("\n".join(plan))
