"""The plans of the queries the handoff rule touches, on PostgreSQL with many
tickets: a City's queue counts and pages, its search scope, the ticket page's
read check, and a sender's home (a confirmed contact's address).

    .venv/bin/python bench/handoff_plans.py [--tickets 300000] [--schools 20000]

Fills a scratch database (a tenth of the tickets held by the Province, each
with the handoff row of the City that forwarded it), prints each query's
plan and time from EXPLAIN ANALYZE, and drops the database. The point is
the plan shape: index scans (and a BitmapOr of the office index and the
ticket key for the scope), no sequential scan of the ticket table.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import DIRECTORY_SQL, create_database, drop_database  # noqa: E402

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core.config.policy import Policy  # noqa: E402
from core.models import Base, Ticket, User  # noqa: E402
from core.queries.queues import QUEUES, Filters, _conditions, scope_of, summaries  # noqa: E402
from core.tickets.intake import _SCHOOL_HOME  # noqa: E402

FILL = [
    *DIRECTORY_SQL,
    """INSERT INTO ticket (ref, subject, status, office_id, school_id, requester_email, language, created_at,
                        updated_at, status_changed_at, last_customer_at)
    SELECT 'HD-B' || lpad(g::text, 7, '0'), 'NUPTK belum terbit ' || (g % 997),
           (ARRAY['open','answered','closed','closed','closed','on_hold','forwarded'])[1 + g % 7],
           CASE WHEN g % 10 = 0 THEN c.parent_id ELSE c.id END, s.id, s.email, 'id',
           now() - g * interval '1 minute', now() - g * interval '30 second', now(), now()
    FROM generate_series(1, :tickets) g
    JOIN office s ON s.code = 'S' || lpad((1 + g % :schools)::text, 6, '0')
    JOIN office c ON c.id = s.parent_id""",
    """INSERT INTO ticket_handoff (ticket_id, office_id, at)
    SELECT t.id, s.parent_id, now() FROM ticket t JOIN office s ON s.id = t.school_id
    WHERE t.office_id <> s.parent_id""",
    """INSERT INTO school_contact (email, school_id, created_at)
    SELECT 'guru' || id || '@gmail.bench', id, now() FROM office WHERE kind = 'school' AND id % 5 = 0""",
    "INSERT INTO app_user (email, name, password_hash, office_id, role, active, available, failed_logins, created_at) "
    "SELECT 'agent@city', 'agent', 'x', office_id, 'agent', true, true, 0, now() FROM ticket_handoff "
    "GROUP BY office_id ORDER BY count(*) DESC LIMIT 1",
    "ANALYZE",
]


def explain(session: Session, title: str, query) -> None:
    compiled = query.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    plan = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + str(compiled), compiled.params)
    lines = [row[0] for row in plan]
    print(f"\n## {title}\n" + "\n".join(lines))
    if any("Seq Scan on ticket " in line or line.strip().startswith("Seq Scan on ticket") for line in lines):
        print("!! a sequential scan of ticket")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=300_000)
    parser.add_argument("--schools", type=int, default=20_000)
    args = parser.parse_args()
    server = os.environ.get("HELPDESK_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    url = create_database(server)
    engine = create_engine(url)
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            for statement in FILL:
                conn.execute(text(statement), {"tickets": args.tickets, "schools": args.schools})
        with Session(engine) as session:
            user = session.scalars(select(User)).one()
            policy = Policy()
            scope = scope_of(session, user, policy)
            explain(session, "queue counts of a City (one pass)", select(*[
                func.count().filter(q.where(user, None, policy)).label(n) for n, q in QUEUES.items()
                if n != "sla"]).select_from(Ticket).where(*scope))
            for name in ("open", "below", "sent_on"):
                where = _conditions(scope, user, QUEUES[name], None, policy, Filters())
                explain(session, f"queue page {name}",
                        summaries(where).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(50))
            explain(session, "search: the scope's newest tickets",
                    select(Ticket.id).where(*scope).order_by(Ticket.updated_at.desc()).limit(1000))
            explain(session, "a confirmed contact's home (mail ingest)",
                    _SCHOOL_HOME.params(email=session.scalar(text("SELECT min(email) FROM school_contact")),
                                        kind="school"))
    finally:
        engine.dispose()
        drop_database(server, url)


if __name__ == "__main__":
    main()
