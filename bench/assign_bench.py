"""Automatic assignment on PostgreSQL: 10,000 new tickets across 200 agents
(20 in each of 10 city offices), by one worker and then by four at once, on
two paths:

- per ticket: core.tickets.assignment.assign_new, one transaction per ticket (what
  opening or forwarding a ticket does);
- batch: core.tickets.assignment.fill_office, each office's unassigned pool in
  transactions of up to 500 tickets (what the sweep does).

    .venv/bin/python bench/assign_bench.py [--tickets 10000] [--paths per-ticket batch] [--no-record]

Creates a scratch database hd_assign_bench, checks the result is fair (per
office, loads differ by at most one) and that no ticket got two assignments,
appends the figures to bench/RESULTS.md and drops the database.
Target: at least 500 tickets/s.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy.dialects.postgresql  # noqa: E402,F401  (registers to_tsvector before the models load)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import lazyload  # noqa: E402

from core.config.policy import Policy  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.models import Base, Ticket  # noqa: E402
from core.storage.db import Database  # noqa: E402
from core.tickets.assignment import assign_new, fill_office  # noqa: E402

NAME = "hd_assign_bench"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
FILL = [
    "INSERT INTO office (code, name, kind, path, active, created_at) VALUES ('MIN', 'Kementerian', 'ministry', "
    "'/MIN/', true, now())",
    """INSERT INTO office (code, name, kind, parent_id, path, active, created_at)
    SELECT 'C' || c, 'Dinas Kota ' || c, 'city', m.id, '/MIN/C' || c || '/', true, now()
    FROM generate_series(1, 10) c, office m WHERE m.code = 'MIN'""",
    """INSERT INTO app_user (email, name, password_hash, office_id, role, active, available, failed_logins, created_at)
    SELECT 'agent' || n || '@' || lower(o.code) || '.bench', 'Agent', 'x', o.id, 'agent', true, true, 0, now()
    FROM office o, generate_series(1, 20) n WHERE o.kind = 'city'""",
    """INSERT INTO ticket (ref, subject, status, office_id, requester_email, created_at, updated_at,
                        status_changed_at)
    SELECT 'HD-A' || lpad(g::text, 7, '0'), 'Pertanyaan ' || g, 'open',
           (SELECT id FROM office WHERE code = 'C' || (1 + g % 10)), 'sekolah' || g || '@sekolah.bench',
           now(), now(), now()
    FROM generate_series(1, :tickets) g""",
]

PATHS = {"per-ticket": "per ticket (assign_new)", "batch": "batch (fill_office)"}
DESCRIBED = {
    "per-ticket": "one transaction per ticket: lock the office's staff rows, count their loads, conditional "
                  "UPDATE of the ticket, stamp the agent, insert the audit event.",
    "batch": "one transaction per office and up to 500 tickets: lock the staff rows and count loads once, "
             "take the pool FOR UPDATE SKIP LOCKED, deal in memory by the same rules, one UPDATE per agent, "
             "one INSERT of the audit events.",
}


def scratch(server_url: str, create: bool) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{NAME}"'))
    admin.dispose()
    return make_url(server_url).set(database=NAME).render_as_string(hide_password=False)


def reset(database: Database, tickets: int) -> list[int]:
    with database.begin() as s:
        s.execute(text("DELETE FROM event"))
        s.execute(text("DELETE FROM ticket"))
        s.execute(text("UPDATE app_user SET last_assigned_at = NULL"))
        s.execute(text(FILL[3]), {"tickets": tickets})
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE ticket"))
    with database.begin() as s:
        return list(s.scalars(text("SELECT id FROM ticket ORDER BY id")))


def per_ticket(database: Database, ids: list[int], workers: int) -> None:
    """Each worker assigns its share of the tickets, one transaction each. The
    ticket is read without its relations, as open_ticket already holds it."""
    policy = Policy()

    def work(mine: list[int]) -> None:
        for ticket_id in mine:
            with database.begin() as s:
                assign_new(s, s.get(Ticket, ticket_id, options=[lazyload("*")]), policy, NOW)

    run_threads(work, [ids[i::workers] for i in range(workers)])


def batch(database: Database, offices: list[int], workers: int) -> None:
    """Every worker fills every office's pool, each starting at a different office
    (so they meet, as two sweeps would), until no office has tickets left."""
    policy = Policy()

    def work(order: list[int]) -> None:
        for office_id in order:
            while True:
                with database.begin() as s:
                    if fill_office(s, office_id, policy, NOW) == 0:
                        break

    starts = [i * len(offices) // workers for i in range(workers)]
    run_threads(work, [offices[k:] + offices[:k] for k in starts])


def run_threads(work, shares: list[list[int]]) -> None:
    errors: list[BaseException] = []

    def guarded(share: list[int]) -> None:
        try:
            work(share)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def timed(database: Database, path: str, ids: list[int], workers: int) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one run."""
    with database.begin() as s:
        offices = list(s.scalars(text("SELECT id FROM office WHERE kind = 'city' ORDER BY id")))
    started, cpu = time.monotonic(), time.process_time()
    if path == "per-ticket":
        per_ticket(database, ids, workers)
    else:
        batch(database, offices, workers)
    return time.monotonic() - started, time.process_time() - cpu


def check(database: Database, tickets: int) -> str:
    with database.begin() as s:
        unassigned = s.scalar(text("SELECT count(*) FROM ticket WHERE assignee_id IS NULL"))
        events = s.scalar(text("SELECT count(*) FROM event WHERE kind = 'assign'"))
        spread = s.scalar(text(
            "SELECT max(hi - lo) FROM (SELECT u.office_id, max(n) hi, min(n) lo FROM (SELECT a.id, a.office_id, "
            "count(t.id) n FROM app_user a LEFT JOIN ticket t ON t.assignee_id = a.id GROUP BY a.id) u "
            "GROUP BY u.office_id) o"))
    assert unassigned == 0 and events == tickets, (unassigned, events)
    return f"all {tickets:,} assigned once; per office, agents' loads differ by at most {spread}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    url = scratch(args.server_url, create=True)
    rows = []
    try:
        env = {"HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": tempfile.mkdtemp(prefix="assign-bench-"),
               "HELPDESK_SECRET_KEY": "bench"}
        database = Database(load_settings(env), pool_size=8)
        Base.metadata.create_all(database.engine)
        with database.begin() as s:
            for statement in FILL[:3]:
                s.execute(text(statement))
        for path in args.paths:
            for workers in (1, 4):
                ids = reset(database, args.tickets)
                seconds, cpu = timed(database, path, ids, workers)
                rows.append((path, workers, seconds, args.tickets / seconds, cpu * 1000 / args.tickets,
                             check(database, args.tickets)))
                print(f"{PATHS[path]}, {workers} worker(s): {seconds:.2f} s, {args.tickets / seconds:,.0f} tickets/s, "
                      f"{rows[-1][4]:.2f} ms CPU per ticket in this process; {rows[-1][5]}", flush=True)
        database.engine.dispose()
    finally:
        scratch(args.server_url, create=False)
    if not args.no_record:
        record(args, rows)


def record(args, rows: list[tuple]) -> None:
    lines = ["## Automatic assignment (core.tickets.assignment) on PostgreSQL, per ticket and in batches", "",
             f"    .venv/bin/python bench/assign_bench.py --tickets {args.tickets} --paths {' '.join(args.paths)}", "",
             f"{args.tickets:,} new tickets, 200 available agents in 10 city offices. Target: >= 500 tickets/s.", "",
             *(f"- {name}: {DESCRIBED[path]}" for path, name in PATHS.items() if path in args.paths), "",
             "| path | workers | seconds | tickets/s | bench CPU ms/ticket | check |",
             "| --- | --- | --- | --- | --- | --- |",
             *(f"| {PATHS[p]} | {w} | {s:.2f} | {r:,.0f} | {c:.2f} | {k} |" for p, w, s, r, c, k in rows)]
    path = ROOT / "bench" / "RESULTS.md"
    with path.open("a") as out:
        out.write("\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
