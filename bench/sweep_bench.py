"""The sweep on PostgreSQL holding 1,000,000 tickets of 100,000 schools over five
years, 2 % not closed, when the previous sweep ran an hour ago (--backlog-hours):
the backlog of auto-closes, SLA warnings and breaches, escalations, absent
agents' tickets and unassigned tickets that accumulates meanwhile.

    .venv/bin/python bench/sweep_bench.py [--tickets 1000000] [--schools 100000] [--no-record]

Creates a scratch database hd_bench (generate_series), runs the sweep twice
(the backlog, then the idle run every minute would do), prints EXPLAIN of each
sweep query, appends the figures to bench/RESULTS.md and drops the database.
Target: the sweep under 10 s.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import DIRECTORY_SQL, create_database, drop_database  # noqa: E402

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from core.tickets import assignment, sla  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.demo import seed_defaults  # noqa: E402
from core.models import Base, Status, Ticket  # noqa: E402
from core.storage.db import Database  # noqa: E402
from core.tickets.sweep import run_sweep  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
NAME = "hd_bench"

# Statuses of the 2 % not closed; the rest of the five years is closed.
FILL = [
    *DIRECTORY_SQL,
    """INSERT INTO app_user (email, name, password_hash, office_id, role, active, available, available_changed_at,
                          failed_logins, created_at)
    SELECT 'agent' || n || '@' || lower(o.code) || '.bench', 'Agent ' || o.code, 'x', o.id, 'agent', true,
           NOT (n = 2 AND o.id % 101 = 0), :now - interval '48 hours 30 minutes', 0, :now - interval '5 years'
    FROM office o, generate_series(1, 2) n WHERE o.kind IN ('city', 'province')""",
    # Ticket g: closed if g % 50 <> 0; otherwise open, answered, on hold or forwarded,
    # created in the last 14 days. Its city's agent (g % 2 picks which) holds it.
    """INSERT INTO ticket (ref, subject, status, priority_id, office_id, assignee_id, assigned_at, school_id,
                        requester_email, language, created_at, updated_at, status_changed_at, last_customer_at,
                        first_response_at, resolved_at, closed_at, first_response_due_at, resolution_due_at)
    SELECT 'HD-B' || lpad(g::text, 7, '0'), 'Pertanyaan ' || (g % 997), x.status, x.priority, s.parent_id,
           CASE WHEN x.status = 'open' AND g % 5000 = 0 THEN NULL ELSE u.id END, x.created,
           s.id, s.email, 'id', x.created, x.changed, x.changed, x.created,
           CASE WHEN x.status IN ('closed', 'answered') THEN x.created + interval '1 hour' END,
           CASE WHEN x.status = 'closed' THEN x.changed END, CASE WHEN x.status = 'closed' THEN x.changed END,
           x.created + (ARRAY[72, 24, 8, 2])[x.priority] * interval '1 hour',
           x.created + (ARRAY[240, 120, 48, 24])[x.priority] * interval '1 hour'
    FROM generate_series(1, :tickets) g
    CROSS JOIN LATERAL (SELECT
        CASE WHEN g % 50 <> 0 THEN 'closed'
             ELSE (ARRAY['open', 'answered', 'answered', 'on_hold', 'forwarded'])[1 + (g / 50) % 5] END AS status,
        1 + (g / 7) % 4 AS priority,
        CASE WHEN g % 50 <> 0 THEN :now - interval '15 days' - (g % 1800) * interval '1 day'
                                  - (g % 1440) * interval '1 minute'
             ELSE :now - (g % 20160) * interval '1 minute' END AS created) c0
    CROSS JOIN LATERAL (SELECT c0.status, c0.priority, c0.created,
        c0.created + ((g / 50) % (GREATEST(1, extract(epoch FROM :now - c0.created)::int / 60))) * interval '1 minute'
        AS changed) x
    -- A prime stride spreads the open tickets over every school, not one in fifty.
    JOIN office s ON s.code = 'S' || lpad((1 + ((g / 50)::bigint * 7919 + g) % :schools)::text, 6, '0')
    JOIN app_user u ON u.office_id = s.parent_id AND u.email LIKE 'agent' || (1 + (g / 50) % 2) || '@%'""",
    # What the previous sweep did: close tickets answered 7 days before it and flag due times.
    """UPDATE ticket SET status = 'closed', closed_at = :last, resolved_at = :last, status_changed_at = :last
        WHERE status = 'answered' AND status_changed_at <= :last - interval '7 days'""",
    # Tickets whose due time passed before the last sweep were flagged by it.
    """UPDATE ticket SET sla_breached_at = :last WHERE status IN ('open', 'forwarded') AND (
        (first_response_at IS NULL AND first_response_due_at <= :last) OR resolution_due_at <= :last)""",
    """UPDATE ticket SET sla_warned_at = :last - interval '2 hours' WHERE status IN ('open', 'forwarded')
        AND sla_breached_at IS NULL AND ((first_response_at IS NULL AND first_response_due_at <= :last + interval '2 hours')
        OR resolution_due_at <= :last + interval '2 hours')""",
]






def fill(database: Database, tickets: int, schools: int, backlog: timedelta) -> float:
    started = time.monotonic()
    params = {"tickets": tickets, "schools": schools, "now": NOW, "last": NOW - backlog}
    with database.begin() as s:
        seed_defaults(s)
        for statement in FILL:
            s.execute(text(statement), params)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.monotonic() - started


def sweep_queries(now: datetime) -> dict[str, object]:
    """The statements that find each step's rows, as the sweep issues them."""
    not_closed = Ticket.status.in_(assignment.NOT_CLOSED)
    return {
        "auto-close": select(Ticket.id).where(Ticket.status == Status.answered,
                                              Ticket.status_changed_at <= now - timedelta(days=7)).limit(500),
        "SLA breach": select(Ticket.id).where(sla.breaching(now)).limit(500),
        "SLA warning": select(Ticket.id).where(sla.nearing(now + timedelta(hours=2))).limit(500),
        "agent load": select(Ticket.assignee_id).where(Ticket.assignee_id.in_([1, 2, 3]), not_closed),
        "unassigned of an office": select(Ticket.id).where(Ticket.office_id == 40, Ticket.assignee_id.is_(None),
                                                            not_closed).limit(500),
        "offices with a pool": select(Ticket.office_id).where(not_closed, Ticket.assignee_id.is_(None)).distinct(),
    }


def explain(database: Database, now: datetime) -> dict[str, str]:
    plans = {}
    with database.begin() as s:
        s.execute(text("SET TRANSACTION READ ONLY"))
        for name, query in sweep_queries(now).items():
            sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plans[name] = "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql)))
    return plans


def counts(database: Database) -> dict[str, int]:
    with database.begin() as s:
        return dict(s.execute(text("SELECT status, count(*) FROM ticket GROUP BY status")).all())


def record(lines: list[str]) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    if not path.exists():
        path.write_text("# Benchmark results\n")
    with path.open("a") as out:
        out.write("\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=100_000)
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--backlog-hours", type=float, default=1.0,
                        help="how long ago the previous sweep ran (the work waiting for this one)")
    args = parser.parse_args()
    url = create_database(args.server_url, NAME)
    try:
        env = {"HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": tempfile.mkdtemp(prefix="sweep-bench-"),
               "HELPDESK_SECRET_KEY": "bench"}
        database = Database(load_settings(env))
        Base.metadata.create_all(database.engine)
        filled = fill(database, args.tickets, args.schools, timedelta(hours=args.backlog_hours))
        before = counts(database)
        print(f"filled {args.tickets:,} tickets in {filled:.0f} s: {before}", flush=True)
        plans = explain(database, NOW)
        started = time.monotonic()
        if args.profile:
            import cProfile
            cProfile.runctx("run_sweep(database, NOW)", globals(), locals(), sort="cumtime")
        backlog = run_sweep(database, NOW)
        backlog_s = time.monotonic() - started
        started = time.monotonic()
        idle = run_sweep(database, NOW + timedelta(minutes=1))
        idle_s = time.monotonic() - started
        database.engine.dispose()
    finally:
        drop_database(args.server_url, url)
    print(f"backlog sweep ({args.backlog_hours} h) {backlog_s:.2f} s: {backlog}")
    print(f"next sweep {idle_s:.2f} s: {idle}")
    for name, plan in plans.items():
        print(f"--- {name}\n{plan}")
    if args.no_record:
        return
    lines = ["## Sweep (core.tickets.sweep.run_sweep) on PostgreSQL, 2026-11-23", "",
             f"    .venv/bin/python bench/sweep_bench.py --tickets {args.tickets} --schools {args.schools}"
             f" --backlog-hours {args.backlog_hours:g}", "",
             f"{args.tickets:,} tickets of {args.schools:,} schools, five years, 2 % not closed "
             f"({', '.join(f'{k} {v:,}' for k, v in sorted(before.items()))}); the sweep last ran "
             f"{args.backlog_hours:g} h earlier. Data generated in {filled:.0f} s. Target: under 10 s.", "",
             "| run | seconds | work done |", "| --- | --- | --- |",
             f"| {args.backlog_hours:g} h backlog | {backlog_s:.2f} | {backlog} |",
             f"| the next minute | {idle_s:.2f} | {idle} |", "",
             "Plans of the queries that find each step's rows (EXPLAIN):", ""]
    for name, plan in plans.items():
        lines += [f"- {name}:", "", *("      " + row for row in plan.splitlines()), ""]
    record(lines)


if __name__ == "__main__":
    main()
