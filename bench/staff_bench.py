"""The staff pages under load: queue pages, the ticket page and search, for a
City agent, on PostgreSQL holding 1,000,000 tickets and 100,000 schools,
served by gunicorn and measured with wrk at 20 connections.

    .venv/bin/python bench/staff_bench.py [--tickets 1000000] [--schools 100000] [--connections 20]

Creates a scratch database (generate_series), runs wrk per page kind, prints
p50/p95/p99 and the server's CPU per request (gunicorn's processes and the
PostgreSQL backends, read from /proc: the figure the machine's other load
hardly moves), appends them to bench/RESULTS.md (--no-record to skip) and
drops the database. Filling a million tickets takes minutes: `--keep` (or
`--fill-only`) keeps the database and prints its URL, `--database URL`
measures it again. `--in-process ROUNDS` measures each page alone through
Flask's test client instead (CPU of Python and of PostgreSQL, queries per
page) and records nothing. Targets: queue and ticket pages p95 < 100 ms,
search p95 < 200 ms.
"""
from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import DIRECTORY_SQL, Site, gunicorn_settings, scratch_site  # noqa: E402

from sqlalchemy import text  # noqa: E402

from core.access.passwords import hash_password  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.models import Base  # noqa: E402
from core.storage.db import Database  # noqa: E402

PASSWORD = "bench-password-1"
FILL = [
    *DIRECTORY_SQL,
    """INSERT INTO ticket (ref, subject, status, office_id, school_id, requester_email, language, created_at, updated_at,
                        status_changed_at, last_customer_at, whatsapp_consent)
    SELECT 'HD-B' || lpad(g::text, 7, '0'),
           (ARRAY['NUPTK belum terbit','Sinkronisasi gagal','Tunjangan belum cair','Akun terkunci',
                  'Data rombel ganda'])[1 + g % 5] || ' ' || (g % 997),
           (ARRAY['open','answered','closed','closed','closed','on_hold','forwarded'])[1 + g % 7],
           CASE WHEN g % 10 = 0 THEN c.parent_id ELSE c.id END, s.id, s.email, 'id',
           now() - g * interval '1 minute', now() - g * interval '30 second', now(), now(), false
    FROM generate_series(1, :tickets) g
    JOIN office s ON s.code = 'S' || lpad((1 + g % :schools)::text, 6, '0')
    JOIN office c ON c.id = s.parent_id""",
    """INSERT INTO message (ticket_id, direction, from_address, subject, text, full_text, auto_reply, channel, created_at)
    SELECT t.id, 'in', t.requester_email, t.subject,
           'Yth. Bapak/Ibu, mohon bantuan tentang ' || t.subject || '. Kode kasus kasus' || (t.id % 5000)
           || ', operator sekolah.', '', false, 'mail', t.created_at
    FROM ticket t""",
]
# Each connection is one member of staff: a page, then `think` ms of reading
# (wrk's delay()), or none for the saturation run.
WRK_SCRIPT = """
paths = {%s}
counter = 0
think = %d
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[1 + counter %% #paths])
end
delay = function()
  if think == 0 then return 0 end
  return math.random(think / 2, think * 3 / 2)
end
done = function(summary, latency, requests)
  io.write(string.format("P50 %%f\\nP95 %%f\\nP99 %%f\\n", latency:percentile(50) / 1000,
           latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""

def fill(database: Database, tickets: int, schools: int) -> None:
    fulltext = [ix for ix in Base.metadata.tables["ticket"].indexes | Base.metadata.tables["message"].indexes
                if ix.name.endswith("_fts")]
    started = time.monotonic()
    with database.begin() as s:
        for ix in fulltext:  # a bulk load is faster with the GIN indexes built once, afterwards
            s.execute(text(f"DROP INDEX {ix.name}"))
        for statement in FILL:
            s.execute(text(statement), {"tickets": tickets, "schools": schools})
        s.execute(text("INSERT INTO app_user (email, name, password_hash, office_id, role, active, available, "
                       "failed_logins, created_at) SELECT 'agent@' || lower(code) || '.bench', 'Agent ' || code, :h, "
                       "id, 'agent', true, false, 0, now() FROM office WHERE code IN ('C0001', 'P02')"),
                  {"h": hash_password(PASSWORD)})
    with database.begin() as s:
        for ix in fulltext:
            ix.create(s.connection())
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {tickets:,} tickets, {schools:,} schools in {time.monotonic() - started:.0f} s", flush=True)


def log_in(base: str, email: str, attempts: int = 3) -> str:
    for attempt in range(attempts):
        try:
            return _log_in(base, email)
        except OSError:  # a worker still starting on a loaded machine; the next one answers
            if attempt == attempts - 1:
                raise
            time.sleep(2)


def _log_in(base: str, email: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    opener.open(f"{base}/login", urllib.parse.urlencode(
        {"csrf_token": token, "email": email, "password": PASSWORD}).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def run_wrk(base: str, cookie: str, paths: list[str], connections: int, seconds: int, think: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), think))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name,
                          "-H", f"Cookie: {cookie}", base], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    figures = {k: float(v) for k, v in re.findall(r"^(P\d\d) ([\d.]+)$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), **figures,
            "non2xx": int(bad.group(1)) if bad else 0, "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:  # the process ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(gunicorn: subprocess.Popen, database: Database) -> dict[int, float]:
    """CPU seconds used so far by each of gunicorn's processes and the
    PostgreSQL backends of the measured database: what serving costs,
    whatever else the machine runs (see cpu_between)."""
    workers = Path(f"/proc/{gunicorn.pid}/task/{gunicorn.pid}/children").read_text().split()
    with database.engine.connect() as conn:
        backends = list(conn.scalars(text("SELECT pid FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    return {int(pid): _cpu_seconds(int(pid)) for pid in [gunicorn.pid, *workers, *backends]}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two server_cpu readings. A process that ended
    meanwhile (a pooled connection closed) is counted up to the first reading
    only: subtracting its total would take its work off the others'."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def measure(base: str, cookie: str, paths: list[str], connections: int, seconds: int, think: int,
            gunicorn: subprocess.Popen, database: Database) -> dict:
    """run_wrk, plus the server's CPU milliseconds per request."""
    before = server_cpu(gunicorn, database)
    figures = run_wrk(base, cookie, paths, connections, seconds, think)
    figures["cpu_ms"] = cpu_between(before, server_cpu(gunicorn, database)) * 1000 / max(1, figures["requests"])
    figures["load"] = os.getloadavg()[0]
    return figures


def city_refs(database: Database, limit: int = 200) -> list[str]:
    with database.begin() as s:
        return list(s.scalars(text("SELECT t.ref FROM ticket t JOIN office o ON o.id = t.office_id "
                                   "WHERE o.code = 'C0001' ORDER BY t.id LIMIT :n"), {"n": limit}))


def page_kinds(refs: list[str]) -> dict[str, list[str]]:
    return {
        "queue pages": [f"/staff/?queue={q}" for q in ("mine", "unassigned", "open", "answered", "closed",
                                                       "sla", "below")] + ["/staff/?queue=closed&page=3"],
        "ticket page": [f"/staff/tickets/{r}" for r in refs],
        "search (words)": ["/staff/search?q=kasus17", "/staff/search?q=sinkronisasi",
                           "/staff/search?q=tunjangan+cair", "/staff/search?q=kasus4242+operator"],
    }


def measure_in_process(env: dict, kinds: dict[str, list[str]], rounds: int) -> None:
    """Each page alone through the Flask test client: wall time, this process's CPU
    time, the PostgreSQL backends' CPU time and the number of SQL statements, per
    request. CPU time hardly depends on what else the machine runs, so it is the
    figure to develop by."""
    from sqlalchemy import event

    from portal.app import create_app
    app = create_app(load_settings(env))
    engine = app.extensions["helpdesk.db"].engine
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"csrf_token": token, "email": "agent@c0001.bench", "password": PASSWORD})

    def database_cpu() -> float:
        with engine.connect() as conn:  # the pool's one connection: the backend that serves the pages
            return _cpu_seconds(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    for kind, paths in kinds.items():
        for path in paths:  # templates compiled, caches warm
            assert client.get(path).status_code in (200, 302), path
        walls, cpus, database, queries = [], [], [], []
        for _ in range(rounds):
            for path in paths:
                statements.clear()
                pg = database_cpu()
                wall, cpu = time.perf_counter(), time.process_time()
                client.get(path)
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                queries.append(len(statements) - 1)  # less database_cpu's own
                database.append((database_cpu() - pg) * 1000)
        print(f"{kind:15} {len(paths)} pages x {rounds}: wall median {sorted(walls)[len(walls) // 2]:5.1f} ms; "
              f"CPU mean: python {sum(cpus) / len(cpus):5.1f} ms, PostgreSQL {sum(database) / len(database):5.1f} ms; "
              f"queries {max(queries)}", flush=True)


def add_site_options(parser: argparse.ArgumentParser) -> None:
    """The options of a bench on a filled scratch database served by gunicorn (scratch.scratch_site)."""
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: gunicorn.conf.py's, as the product runs)")
    parser.add_argument("--threads", type=int, default=None,
                        help="gthread workers with this many threads each; 0: sync workers (default: "
                             "gunicorn.conf.py's). A sync worker waits on one connection until its request "
                             "arrives, so wrk's users holding a connection through their think time stall it")
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", help="an already filled database to measure (kept afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the filled database and print its URL")
    parser.add_argument("--fill-only", action="store_true", help="fill and keep a database, measure nothing")
    parser.add_argument("--no-record", action="store_true", help="print the figures, leave RESULTS.md alone")


@contextlib.contextmanager
def filled_site(args: argparse.Namespace, prefix: str) -> Iterator[Site | None]:
    """The scratch site add_site_options describes: its database filled
    (unless --database names one), kept and printed when asked; None when
    only filling was asked, so the bench measures nothing."""
    keep = bool(args.keep or args.fill_only or args.database)
    with scratch_site(args.server_url, prefix, args.database, keep) as site:
        if not args.database:
            fill(site.database, args.tickets, args.schools)
        if keep:
            print(f"database kept: {site.url}", flush=True)
        yield None if args.fill_only else site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_options(parser)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--think-ms", type=int, default=1000, help="mean pause between one user's pages")
    parser.add_argument("--in-process", type=int, metavar="ROUNDS", default=0,
                        help="no server, no wrk: each page ROUNDS times alone, its time and queries (records nothing)")
    args = parser.parse_args()
    with filled_site(args, "staff-bench-") as site:
        if site is None:
            return
        kinds = page_kinds(city_refs(site.database))
        if args.in_process:
            measure_in_process(site.env, kinds, args.in_process)
            return
        gunicorn = site.serve(ROOT, args.workers, args.threads)
        web = served_by(site.env, args)
        print(f"gunicorn: {web}", flush=True)
        cookie = log_in(site.base, "agent@c0001.bench")
        for paths in kinds.values():  # every worker compiles its templates and queries before the clock runs
            run_wrk(site.base, cookie, paths, max(4, args.workers or 0), 3, 0)
        results = []
        for think in (args.think_ms, 0):
            for kind, paths in kinds.items():
                figures = measure(site.base, cookie, paths, args.connections, args.seconds, think, gunicorn,
                                  site.database)
                results.append((kind, think, figures))
                print(kind, f"think {think} ms", figures, flush=True)
        if not args.no_record:
            record(results, args, web, " ".join(["python", *sys.argv]))


def served_by(env: dict, args) -> str:
    """How gunicorn runs the portal in this bench, in words."""
    product = gunicorn_settings(ROOT, env)
    workers = args.workers or product["workers"]
    threads = product["threads"] if args.threads is None else args.threads
    layout = f"{workers} gthread workers x {threads} threads" if threads else f"{workers} sync workers"
    return layout + (" (gunicorn.conf.py, as the product runs it)"
                     if args.workers is None and args.threads is None else "")


def record(results: list, args, web: str, command: str) -> None:
    target = {"queue pages": 100, "ticket page": 100, "search (words)": 200}
    lines = [f"\n## Staff pages (queues, ticket, search), {date.today().isoformat()}\n",
             f"A City agent's pages on PostgreSQL holding {args.tickets:,} tickets, {args.tickets:,} messages and "
             f"{args.schools:,} schools (generate_series); gunicorn with {web}; wrk with "
             f"{args.connections} connections for {args.seconds} s per row. Each connection is one user: with "
             f"think time, a page then a pause of {args.think_ms // 2}-{args.think_ms * 3 // 2} ms (wrk delay()); "
             "without, back to back (saturation). wrk, gunicorn and PostgreSQL share one 2-core machine "
             "with the other engineers' test runs.\n",
             f"    {command}\n", "| page | users' think time | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | "
             "server CPU ms/request (gunicorn + PostgreSQL) | load average (1 min) | target p95 |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for kind, think, f in results:
        p95 = f.get("P95")
        verdict = "met" if f["rps"] > 0 and p95 is not None and p95 < target[kind] else "missed"
        lines.append(f"| {kind} | {think} ms | {f['rps']:.0f} | {f.get('P50', 0):.1f} | {p95 or 0:.1f} | "
                     f"{f.get('P99', 0):.1f} | {f['non2xx']} | {f['cpu_ms']:.1f} | {f['load']:.1f} | "
                     f"< {target[kind]} ms ({verdict}) |")
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
