"""A wave answered in bulk on PostgreSQL: one bulk reply to 5,000 tickets run
as a worker runs it (tasks.bulk.run_bulk in its own process: at lower
priority, paced if --duty is below 1), while 20 staff load the queue pages;
the queue pages measured the same way before it and after it, for the
comparison.

    .venv/bin/python bench/bulk_bench.py [--tickets 200000] [--wave 5000] [--rounds 3] [--duty 1] [--niceness 10]
    .venv/bin/python bench/bulk_bench.py --tickets 20000 --schools 10000 --wave 500 --in-process 3

Fills a scratch database as bench/staff_bench.py does (plus the wave: 5,000
open tickets of the agent's City, each with the school's mail and its
Message-ID), serves the portal with gunicorn, and per round: the wave made
open and unassigned again, wrk on the queue pages alone (baseline), the bulk
reply with wrk on the queue pages during it, and wrk once more after it (the
wave answered and the agent's: the pages list other tickets than before).
Prints each round and the medians, appends them to bench/RESULTS.md
(--no-record to skip) and drops the database. Targets: the job under 60 s;
queue pages p95 during it within the baseline's. `--in-process ROUNDS`
runs the job alone in the bench's own process instead and prints its CPU
(Python and PostgreSQL) and statements per ticket.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_site  # noqa: E402
from staff_bench import _cpu_seconds, fill, log_in, measure, page_kinds, run_wrk  # noqa: E402

from sqlalchemy import event, text  # noqa: E402

from core.config.settings import Settings  # noqa: E402
from core.models import BulkJob, User  # noqa: E402
from core.storage.db import Database  # noqa: E402
from core.tickets import bulk  # noqa: E402
from tasks.bulk import NICENESS  # noqa: E402

WAVE_SQL = [
    """INSERT INTO ticket (ref, subject, status, office_id, school_id, requester_email, language, created_at,
                           updated_at, status_changed_at, last_customer_at, whatsapp_consent)
    SELECT 'HD-W' || lpad(g::text, 6, '0'), 'Dapodik tidak bisa sinkron', 'open', c.id, s.id, s.email, 'id',
           now() - interval '1 hour', now() - interval '1 hour', now(), now(), false
    FROM generate_series(1, :wave) g
    JOIN office s ON s.code = 'S' || lpad((1 + g * 17 % :schools)::text, 6, '0')
    JOIN office c ON c.code = 'C0001'""",
    """INSERT INTO message (ticket_id, direction, from_address, message_id, subject, text, full_text, auto_reply,
                            channel, created_at)
    SELECT t.id, 'in', t.requester_email, '<' || t.ref || '@sekolah.bench>', t.subject, 'Sinkronisasi gagal.', '',
           false, 'mail', t.created_at
    FROM ticket t WHERE t.ref LIKE 'HD-W%'""",
]
# Each round answers the same wave afresh: open, unassigned, unanswered.
RESET_SQL = """UPDATE ticket SET status = 'open', assignee_id = NULL, assigned_at = NULL, first_response_at = NULL,
                                 sla_paused_at = NULL, status_changed_at = now() WHERE ref LIKE 'HD-W%'"""
# The worker: one process running the pending job through the Celery task's own
# function (tasks.bulk.run_bulk: paced by HELPDESK_BULK_DUTY, at lower priority).
WORKER = "import sys; from core.config.settings import load_settings; from core.storage.db import Database; " \
         "from tasks.bulk import run_bulk; run_bulk(Database(load_settings()), niceness=int(sys.argv[1]))"


def add_wave(database: Database, wave: int, schools: int) -> list[str]:
    with database.begin() as s:
        for statement in WAVE_SQL:
            s.execute(text(statement), {"wave": wave, "schools": schools})
        refs = list(s.scalars(text("SELECT ref FROM ticket WHERE ref LIKE 'HD-W%' ORDER BY id")))
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE ticket"))
        conn.execute(text("VACUUM ANALYZE message"))
    return refs


def reset_wave(database: Database) -> None:
    with database.begin() as s:
        s.execute(text(RESET_SQL))


def new_job(database: Database, refs: list[str], round_no: int) -> int:
    with database.begin() as s:
        agent = s.scalar(text("SELECT id FROM app_user WHERE email = 'agent@c0001.bench'"))
        job = bulk.create_job(s, s.get(User, agent), refs, bulk.BulkAction(
            "reply", "answered", f"Server Dapodik pusat sudah pulih (putaran {round_no}); silakan sinkron ulang."))
        return job.id


def run_round(args, database, env, base, cookie, paths, gunicorn, refs, round_no) -> dict:
    """The queue pages before the job (the wave open), during it, and after it
    (the wave answered and the agent's: the pages list other tickets then)."""
    reset_wave(database)
    baseline = measure(base, cookie, paths, args.connections, args.seconds, args.think_ms, gunicorn, database)
    job_id = new_job(database, refs, round_no)
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(args.niceness)], cwd=ROOT,
                              env={**env, "HELPDESK_BULK_DUTY": str(args.duty)})
    during = measure(base, cookie, paths, args.connections, args.seconds, args.think_ms, gunicorn, database)
    _, status, usage = os.wait4(worker.pid, 0)  # wait() with the worker's CPU time
    worker.returncode = os.waitstatus_to_exitcode(status)
    if worker.returncode:
        raise RuntimeError(f"the worker ended with {worker.returncode}")
    elapsed = time.monotonic() - started
    after = measure(base, cookie, paths, args.connections, args.seconds, args.think_ms, gunicorn, database)
    with database.begin() as s:
        job = s.get(BulkJob, job_id)
        outcome = {"status": str(job.status), "done": job.done, "refused": job.refused,
                   "job_s": (job.finished_at - job.started_at).total_seconds() if job.finished_at else None}
        mails = s.scalar(text("SELECT count(*) FROM outbox WHERE template = 'staff_reply' AND created_at >= "
                              ":since"), {"since": job.created_at})
    result = {"round": round_no, "baseline": baseline, "during": during, "after": after, "wall_s": elapsed,
              "mails": mails,
              "worker_cpu_s": usage.ru_utime + usage.ru_stime,
              "job_overlapped_wrk": elapsed >= args.seconds, **outcome}
    print(json.dumps(result, default=str), flush=True)
    return result


def backends_cpu(database: Database) -> float:
    """CPU seconds so far of the PostgreSQL backends serving this database (the
    pool's, this query's own among them: the job's connection may be the one)."""
    with database.engine.connect() as conn:
        pids = list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))
    return sum(_cpu_seconds(pid) for pid in pids)


def measure_in_process(database: Database, refs: list[str], rounds: int) -> None:
    """The job alone, at full speed, in this process, `rounds` times on the
    wave made afresh: per ticket its Python CPU, its PostgreSQL backend's CPU
    and its statements. CPU time hardly depends on what else the machine
    runs, so it is the figure to develop by."""
    statements = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(1))
    for n in range(rounds):
        reset_wave(database)
        job_id = new_job(database, refs, n + 1)
        statements.clear()
        pg, cpu = backends_cpu(database), time.process_time()
        bulk.run_job(database, job_id)
        cpu, pg = time.process_time() - cpu, backends_cpu(database) - pg
        print(f"round {n + 1}: {len(refs)} tickets; per ticket: Python {cpu * 1000 / len(refs):.2f} ms CPU, "
              f"PostgreSQL {pg * 1000 / len(refs):.2f} ms CPU, {len(statements) / len(refs):.1f} statements",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--schools", type=int, default=100_000)
    parser.add_argument("--wave", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--think-ms", type=int, default=1000)
    parser.add_argument("--duty", type=float, default=Settings.bulk_duty,
                        help="HELPDESK_BULK_DUTY for the worker (default: the setting's default)")
    parser.add_argument("--niceness", type=int, default=NICENESS,
                        help="nice steps below the worker for a job that does not rest (one that rests keeps the "
                             "worker's)")
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--in-process", type=int, metavar="ROUNDS", default=0,
                        help="no server, no wrk: the job alone ROUNDS times, its CPU and statements per ticket "
                             "(records nothing)")
    args = parser.parse_args()
    with scratch_site(args.server_url, "bulk-bench-") as site:
        fill(site.database, args.tickets, args.schools)
        refs = add_wave(site.database, args.wave, args.schools)
        if args.in_process:
            measure_in_process(site.database, refs, args.in_process)
            return
        paths = page_kinds([])["queue pages"]
        gunicorn = site.serve(ROOT, args.workers, args.threads)
        cookie = log_in(site.base, "agent@c0001.bench")
        run_wrk(site.base, cookie, paths, args.workers, 3, 0)  # warm every worker
        results = [run_round(args, site.database, site.env, site.base, cookie, paths, gunicorn, refs, n + 1)
                   for n in range(args.rounds)]
        if not args.no_record:
            record(results, args, " ".join(["python", *sys.argv]))


def record(results: list[dict], args, command: str) -> None:
    med = lambda values: statistics.median(values)  # noqa: E731
    job_s, cpu_s = med([r["job_s"] for r in results]), med([r["worker_cpu_s"] for r in results])
    base95, during95, after95 = (med([r[when]["P95"] for r in results]) for when in ("baseline", "during", "after"))
    rows = [f"| {r['round']} | {r['job_s']:.1f} | {r['worker_cpu_s']:.1f} | {r['done']} | {r['refused']} | "
            f"{r['mails']} | "
            f"{r['baseline']['P50']:.1f} / {r['baseline']['P95']:.1f} | {r['during']['P50']:.1f} / "
            f"{r['during']['P95']:.1f} | {r['after']['P50']:.1f} / {r['after']['P95']:.1f} | "
            f"{r['during']['load']:.1f} |" for r in results]
    lines = [f"\n## Bulk reply to {args.wave:,} tickets (tasks.bulk.run_bulk, duty {args.duty:g}, niceness "
             f"+{args.niceness}) on PostgreSQL, {date.today().isoformat()}\n",
             f"PostgreSQL holding {args.tickets:,} tickets and {args.schools:,} schools (staff_bench's fill) plus the "
             f"wave: {args.wave:,} open tickets of City C0001. Per round the job runs in its own process (as the "
             f"Celery worker runs it) while wrk drives the queue pages with {args.connections} users "
             f"({args.think_ms} ms think time, {args.seconds} s), gunicorn {args.workers} x {args.threads} "
             "threads; the baseline is the same wrk run just before the job, and again just after it. The job "
             "runs through the task's "
             f"own function (tasks.bulk.run_bulk) with HELPDESK_BULK_DUTY={args.duty:g}, niceness "
             f"+{args.niceness}; each round answers the wave afresh (open, unassigned). The machine is shared "
             "with other engineers' work (2 cores), so the medians are the figures.\n",
             f"    {command}\n",
             "| round | job s | worker CPU s | tickets done | refused | reply mails queued | queue pages p50 / p95 "
             "ms before | during the job | after it | load (1 min) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
             *rows,
             f"\nMedians: job {job_s:.1f} s (target < 60 s: {'met' if job_s < 60 else 'missed'}), worker CPU "
             f"{cpu_s:.1f} s; queue pages p95 {base95:.1f} ms before, {during95:.1f} ms during (target: within "
             f"the baseline's: {'met' if during95 <= base95 else 'missed'}), {after95:.1f} ms after.\n"]
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
