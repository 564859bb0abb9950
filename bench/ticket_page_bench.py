"""The customer's ticket page under load: a 50-message thread, served by
gunicorn (2 workers, as on a 2-core box) from PostgreSQL holding 1,000,000
tickets, measured with wrk.

    .venv/bin/python bench/ticket_page_bench.py [--tickets 1000000] [--connections 8 16]

It creates a scratch database on the server of --server-url, fills it with
generate_series, runs wrk against `/t/<token>` at each concurrency, prints
the figures, appends them to bench/RESULTS.md (--no-record to skip) and drops
the database. Targets: >= 300 requests/s with p99 < 50 ms.

Each row reports the CPU per request of gunicorn (master and workers) and of
the PostgreSQL backends serving them; --in-process N adds the app's own CPU
per page called N times without a server, which other jobs on a shared
machine disturb least. --keep fills a database once and prints its URL;
--database URL reuses it (and leaves it for the caller to drop).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import create_database, drop_database, free_port, start_gunicorn  # noqa: E402

from sqlalchemy import text  # noqa: E402

from core.access.tokens import link_token  # noqa: E402
from core.config.policy import Policy  # noqa: E402
from core.config.settings import load_settings  # noqa: E402
from core.demo import directory_csv, seed_defaults  # noqa: E402
from core.directory.csvrows import read_directory  # noqa: E402
from core.directory.offices import import_directory  # noqa: E402
from core.models import Attachment, Base, Direction, Message, Status  # noqa: E402
from core.storage.db import Database  # noqa: E402
from core.storage.files import Store  # noqa: E402
from core.tickets.intake import Incoming, customer_office, open_ticket  # noqa: E402

TARGET_RPS, TARGET_P99_MS = 300, 50
PARAGRAPH = ("Yth. Bapak/Ibu, kami sudah mencoba sinkronisasi ulang sesuai petunjuk, namun aplikasi masih "
             "menampilkan pesan galat yang sama pada langkah ketiga. Mohon arahan lebih lanjut. ")

FILL_TICKETS = """
INSERT INTO ticket (ref, subject, status, office_id, requester_email, language, token_nonce, token_hash,
                    token_issued_at, created_at, updated_at, status_changed_at, last_customer_at)
SELECT 'HD-B' || lpad(g::text, 7, '0'), 'Pertanyaan nomor ' || g,
       (ARRAY['open','answered','closed','closed','closed','on_hold'])[1 + g % 6],
       cities[1 + g % array_length(cities, 1)], 'sekolah' || lpad((1 + g % 50)::text, 2, '0') || '@sekolah.demo',
       'id', md5(g::text), encode(sha256(('bench-token-' || g)::bytea), 'hex'),
       now() - g * interval '1 minute', now() - g * interval '1 minute', now() - g * interval '1 minute',
       now() - g * interval '1 minute', now() - g * interval '1 minute'
FROM generate_series(1, :n) g, (SELECT array_agg(id) AS cities FROM office WHERE kind = 'city') c
"""
FILL_MESSAGES = """
INSERT INTO message (ticket_id, direction, from_address, subject, text, full_text, auto_reply, channel, created_at)
SELECT t.id, CASE WHEN k = 1 THEN 'in' ELSE 'out' END, t.requester_email, t.subject,
       'Pesan ' || k || ' tentang ' || t.subject, '', false, 'mail', t.created_at + k * interval '1 hour'
FROM ticket t, generate_series(1, 2) k
"""








def fill(database: Database, tickets: int, messages: int) -> str:
    """The bulk tickets, then one real ticket with its thread; returns that ticket's token."""
    with database.begin() as s:
        import_directory(s, read_directory(directory_csv()), actor="bench")
        seed_defaults(s)
    started = time.monotonic()
    with database.begin() as s:
        s.execute(text(FILL_TICKETS), {"n": tickets})
        s.execute(text(FILL_MESSAGES))
    print(f"filled {tickets:,} tickets and {2 * tickets:,} messages in {time.monotonic() - started:.0f} s")
    store = Store(database.settings.path("store"))
    with database.begin() as s:
        policy = Policy()
        school = customer_office(s, "sekolah01@sekolah.demo", policy)
        ticket = open_ticket(s, database.settings, policy, Incoming(
            from_address=school.email, from_name=school.name, subject="Sinkronisasi Dapodik gagal",
            text=PARAGRAPH * 2), school=school)
        for n in range(1, messages):
            direction = Direction.outbound if n % 2 else Direction.inbound
            files = [Attachment(filename=f"layar-{n}.png", content_type="image/png", size=70_000,
                                sha256=store.put(f"bench picture {n}".encode()))] if n % 10 == 0 else []
            s.add(Message(ticket=ticket, direction=direction, from_address=school.email, text=PARAGRAPH * (1 + n % 3),
                          attachments=files))
            if n % 10 == 5:
                s.add(Message(ticket=ticket, direction=Direction.note, text="catatan internal"))
        ticket.status = Status.answered
        s.flush()
        token = link_token(database.settings.secret_key, ticket.id, ticket.token_nonce)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return token


def bench_token(database: Database) -> str:
    """The token of the threaded ticket, the last one `fill` made."""
    with database.begin() as s:
        ticket_id, nonce = s.execute(text("SELECT id, token_nonce FROM ticket ORDER BY id DESC LIMIT 1")).one()
    return link_token(database.settings.secret_key, ticket_id, nonce)




def in_process_cpu_ms(env: dict, page_path: str, requests: int) -> float:
    """CPU milliseconds per page of the WSGI app called in this process, no
    server and no load generator: the figure other jobs on the machine disturb least."""
    from werkzeug.test import EnvironBuilder

    from portal import create_app

    app = create_app(load_settings({k: v for k, v in env.items() if k.startswith("HELPDESK_")}))
    environ = EnvironBuilder(path=page_path, headers={"Accept-Language": "id"}).get_environ()

    def call() -> None:
        statuses = []
        b"".join(app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status)))
        assert statuses[0].startswith("200"), statuses[0]

    for _ in range(20):
        call()
    started = time.process_time()
    for _ in range(requests):
        call()
    used = time.process_time() - started
    app.extensions["helpdesk.db"].engine.dispose()
    return used * 1000 / requests


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(gunicorn: subprocess.Popen, database: Database) -> tuple[list[int], list[int]]:
    """The gunicorn master and workers, and the PostgreSQL backends serving them."""
    children = Path(f"/proc/{gunicorn.pid}/task/{gunicorn.pid}/children").read_text().split()
    with database.engine.connect() as conn:
        backends = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalars().all()
    return [gunicorn.pid, *map(int, children)], list(backends)


def run_wrk(url: str, connections: int, seconds: int, app_pids=(), db_pids=()) -> dict:
    app_before, db_before = cpu_seconds(list(app_pids)), cpu_seconds(list(db_pids))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"load": os.getloadavg()[0], "app_cpu_ms": (cpu_seconds(list(app_pids)) - app_before) * 1000 / max(requests, 1),
            "db_cpu_ms": (cpu_seconds(list(db_pids)) - db_before) * 1000 / max(requests, 1),
            "connections": connections, "rps": rps, "p50": p50, "p99": p99,
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else "none"}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def record(results: list[dict], args: argparse.Namespace, page_bytes: int, command: str,
           in_process: float | None) -> None:
    workers = f"{args.workers} gthread workers x {args.threads} threads" if args.threads \
        else f"{args.workers} sync workers"
    lines = [f"\n### Customer ticket page (`/t/<token>`), {date.today().isoformat()}: {workers}\n",
             f"A {args.messages}-message public thread (plus notes, which the page leaves out) on PostgreSQL 15 "
             f"holding {args.tickets:,} tickets and {2 * args.tickets:,} further messages; gunicorn with {workers}; "
             f"wrk with 2 threads for {args.seconds} s per row, on the same 2-core machine as the database "
             f"(shared with other jobs: note the load average). Page size {page_bytes:,} bytes. "
             f"Target: >= {TARGET_RPS} requests/s with p99 < {TARGET_P99_MS} ms.\n",
             f"    {command}\n",
             "| connections | requests/s | p50 ms | p99 ms | non-2xx | app CPU ms/req | PostgreSQL CPU ms/req "
             "| load avg | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        met = "met" if r["rps"] >= TARGET_RPS and r["p99"] < TARGET_P99_MS and not r["non2xx"] else "missed"
        lines.append(f"| {r['connections']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['non2xx']} "
                     f"| {r['app_cpu_ms']:.2f} | {r['db_cpu_ms']:.2f} | {r['load']:.1f} | {met} |")
    if in_process is not None:
        lines.append(f"\nThe same page called in-process (no server, no wrk): {in_process:.2f} ms CPU per page.")
    with open(ROOT / "bench" / "RESULTS.md", "a") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0,
                        help="gthread workers with this many threads; 0 (default) runs sync workers, which "
                             "with the page cached had the lower p99 and CPU per request under wrk's busy "
                             "connections (the Procfile runs gthread: gunicorn.conf.py)")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--in-process", type=int, default=500, metavar="N",
                        help="also time N pages called in-process (CPU ms per page); 0 to skip")
    parser.add_argument("--keep", action="store_true", help="keep the filled database and print its URL")
    parser.add_argument("--database", help="reuse a database a --keep run filled")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    url = args.database or create_database(args.server_url)
    data_dir = Path(tempfile.mkdtemp(prefix="hd-bench-"))
    env = {**os.environ, "HELPDESK_DATABASE_URL": url, "HELPDESK_DATA_DIR": str(data_dir),
           "HELPDESK_SECRET_KEY": "bench-secret", "HELPDESK_BASE_URL": "http://127.0.0.1"}
    gunicorn = None
    try:
        database = Database(load_settings({k: v for k, v in env.items() if k.startswith("HELPDESK_")}))
        if args.database:
            token = bench_token(database)
        else:
            Base.metadata.create_all(database.engine)
            token = fill(database, args.tickets, args.messages)
        port = free_port()
        gunicorn = start_gunicorn(ROOT, env, port, args.workers, args.threads, wait_seconds=20)
        page_url = f"http://127.0.0.1:{port}/t/{token}"
        page = urllib.request.urlopen(page_url).read()
        assert b"catatan internal" not in page and page.count(b'class="message ') == args.messages
        run_wrk(page_url, 2 * args.workers, 3)  # warm up every worker and its connection
        app_pids, db_pids = server_pids(gunicorn, database)
        results = [run_wrk(page_url, c, args.seconds, app_pids, db_pids) for c in args.connections]
        in_process = in_process_cpu_ms(env, f"/t/{token}", args.in_process) if args.in_process else None
        for r in results:
            print(f"c={r['connections']:>3}  load {r['load']:.1f}  {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  "
                  f"non-2xx {r['non2xx']}  CPU per request: app {r['app_cpu_ms']:.2f} ms, "
                  f"PostgreSQL {r['db_cpu_ms']:.2f} ms")
        if in_process is not None:
            print(f"in-process: {in_process:.2f} ms CPU per page ({args.in_process} pages, no server)")
        if not args.no_record:
            command = ".venv/bin/python bench/ticket_page_bench.py " + " ".join(sys.argv[1:])
            record(results, args, len(page), command.strip(), in_process)
        database.engine.dispose()
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        if args.keep or args.database:
            print(f"kept {url}")
        else:
            drop_database(args.server_url, url)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
