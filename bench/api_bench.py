"""The REST API under load on PostgreSQL: `GET /api/v1/tickets` for a Province
agent (first pages with and without filters, and a page deep in the cursor
chain) and `POST /api/v1/tickets` (open a ticket for a requester), served by
gunicorn with the product's settings (gunicorn.conf.py) and measured with wrk
at 8 connections, back to back.

    .venv/bin/python bench/api_bench.py [--tickets 1000000] [--schools 100000] [--connections 8] [--rounds 3]

The database is filled as bench/staff_bench.py fills it; `--keep` (or
`--fill-only`) keeps it and prints its URL, `--database URL` measures it
again. Each round runs the list, then the creation; the figures are the
medians of the rounds, with the server's CPU per request (gunicorn's
processes and the PostgreSQL backends, from /proc: the figure the machine's
other load hardly moves) and the load average. They are appended to
bench/RESULTS.md (--no-record to skip). `--in-process ROUNDS` measures each
request alone through Flask's test client instead (CPU of Python and of
PostgreSQL, statements per request) and records nothing.
Targets: list p95 < 100 ms, create >= 200/s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from staff_bench import (PASSWORD, _cpu_seconds, add_site_options, cpu_between, filled_site,  # noqa: E402
                         server_cpu, served_by)

from core.config.settings import load_settings  # noqa: E402
from core.storage.db import Database  # noqa: E402

AGENT = "agent@p02.bench"
WRK_SCRIPT = """
paths = {%s}
method = "%s"
body = %s
counter = 0
request = function()
  counter = counter + 1
  if method == "POST" then
    -- wrk.format's headers replace wrk.headers (the token): copy them first.
    local headers = {["Content-Type"] = "application/json"}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    return wrk.format("POST", paths[1], headers, string.format(body, counter, math.random(1, 1000000000)))
  end
  return wrk.format("GET", paths[1 + counter %% #paths])
end
done = function(summary, latency, requests)
  io.write(string.format("P50 %%f\\nP95 %%f\\nP99 %%f\\n", latency:percentile(50) / 1000,
           latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""
NEW_TICKET = {"requester_email": "bench%d.%d@example.test", "requester_name": "Bench",
              "subject": "Dapodik tidak bisa sinkron", "text": "Mohon bantuan, sinkronisasi gagal."}
LIST, CREATE = "GET /api/v1/tickets (Province)", "POST /api/v1/tickets"


def call(base: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    return json.load(urllib.request.urlopen(request))


def log_in(base: str) -> str:
    """A fresh access token (one lives 15 minutes: each round takes its own)."""
    return call(base, "/api/v1/auth/login", body={"email": AGENT, "password": PASSWORD})["access_token"]


def wrk(base: str, token: str, paths: list[str], connections: int, seconds: int, method: str = "GET") -> dict:
    lua_body = "[[" + json.dumps(NEW_TICKET) + "]]"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), method, lua_body))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name,
                          "-H", f"Authorization: Bearer {token}", base], capture_output=True, text=True,
                         check=True).stdout
    os.unlink(script.name)
    figures = {k: float(v) for k, v in re.findall(r"^(P\d\d) ([\d.]+)$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), **figures,
            "non2xx": int(bad.group(1)) if bad else 0, "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def measure(base: str, token: str, paths: list[str], args, method: str, gunicorn, database: Database) -> dict:
    """wrk's figures, the server's CPU milliseconds per request and the load average at the start."""
    load = os.getloadavg()[0]
    before = server_cpu(gunicorn, database)
    figures = wrk(base, token, paths, args.connections, args.seconds, method)
    figures["cpu_ms"] = cpu_between(before, server_cpu(gunicorn, database)) * 1000 / max(1, figures["requests"])
    figures["load"] = load
    return figures


def list_paths(page: callable) -> list[str]:
    """First pages (no filter, by status, by words, of 200) and the 20th page of 50 by cursor;
    `page(path)` returns a list's JSON."""
    cursor = None
    for _ in range(19):
        cursor = page("/api/v1/tickets?limit=50" + (f"&cursor={cursor}" if cursor else ""))["next"]
    return ["/api/v1/tickets", "/api/v1/tickets?status=open", "/api/v1/tickets?limit=200",
            "/api/v1/tickets?q=NUPTK", f"/api/v1/tickets?limit=50&cursor={cursor}"]


def measure_in_process(env: dict, rounds: int) -> None:
    """Each request alone through the Flask test client: wall time, this
    process's CPU, the PostgreSQL backend's CPU and the statements run, per
    request. CPU time hardly depends on what else the machine runs, so it is
    the figure to develop by. The statements are counted in one more request
    of each kind: a listener on the engine turns core.storage.fast's plain
    statements back into SQLAlchemy's (so that it sees them), which costs."""
    from sqlalchemy import event

    from portal.app import create_app
    app = create_app(load_settings(env))
    engine = app.extensions["helpdesk.db"].engine
    statements = []

    def count(*_args) -> None:
        statements.append(1)
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"email": AGENT, "password": PASSWORD}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    paths = list_paths(lambda path: client.get(path, headers=headers).get_json())

    def database_cpu() -> float:
        with engine.connect() as conn:  # the pool's connections, this one among them, serve the requests
            pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity "
                                        "WHERE datname = current_database()").scalars().all()
        return sum(_cpu_seconds(pid) for pid in pids)

    def create() -> int:
        body = {**NEW_TICKET, "requester_email": f"bench.{time.monotonic_ns()}@example.test"}
        return client.post("/api/v1/tickets", json=body, headers=headers).status_code
    requests = [(path, lambda path=path: client.get(path, headers=headers).status_code) for path in paths]
    requests.append(("POST /api/v1/tickets", create))
    for name, send in requests:
        assert send() in (200, 201), name  # compiled statements and caches warm
        walls, cpus, backend = [], [], []
        for _ in range(rounds):
            pg = database_cpu()
            wall, cpu = time.perf_counter(), time.process_time()
            send()
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            backend.append((database_cpu() - pg) * 1000)
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        send()
        event.remove(engine, "before_cursor_execute", count)
        # /proc counts in clock ticks (10 ms): only the mean of many requests says something.
        print(f"{name[:58]:58} wall median {statistics.median(walls):6.1f} ms; CPU mean: python "
              f"{statistics.mean(cpus):5.1f} ms, PostgreSQL {statistics.mean(backend):5.1f} ms; "
              f"statements {len(statements)} (and the guard's and the policy's plain reads)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_site_options(parser)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3, help="list and create this many times each; medians")
    parser.add_argument("--in-process", type=int, metavar="ROUNDS", default=0,
                        help="no server, no wrk: each request ROUNDS times alone, its CPU and statements")
    parser.add_argument("--create-only", action="store_true", help="measure ticket creation alone, not the list")
    args = parser.parse_args()
    with filled_site(args, "api-bench-") as site:
        if site is None:
            return
        if args.in_process:
            measure_in_process(site.env, args.in_process)
            return
        gunicorn = site.serve(ROOT, args.workers, args.threads)
        web = served_by(site.env, args)
        print(f"gunicorn: {web}", flush=True)
        base = site.base
        token = log_in(base)
        paths = list_paths(lambda path: call(base, path, token))
        wrk(base, token, paths, args.connections, 3)  # every worker warm before the clock runs
        rows = ((LIST, "GET", paths), (CREATE, "POST", ["/api/v1/tickets"]))[1 if args.create_only else 0:]
        rounds: dict[str, list[dict]] = {name: [] for name, _, _ in rows}
        for number in range(args.rounds):
            token = log_in(base)
            for name, method, targets in rows:
                figures = measure(base, token, targets, args, method, gunicorn, site.database)
                rounds[name].append(figures)
                print(f"round {number + 1}", name, figures, flush=True)
        if not args.no_record:
            record(rounds, args, web, " ".join(["python", *sys.argv]))


def _median(rounds: list[dict], key: str) -> float:
    return statistics.median(f.get(key, 0.0) for f in rounds)


def record(rounds: dict[str, list[dict]], args, web: str, command: str) -> None:
    lines = [f"\n## REST API: ticket list and ticket creation, {date.today().isoformat()}\n",
             f"A Province agent's token on PostgreSQL holding {args.tickets:,} tickets and {args.schools:,} "
             f"schools (staff_bench's fill); gunicorn with {web}; wrk with {args.connections} connections back "
             f"to back for {args.seconds} s per row, {args.rounds} rounds (list, then create, in each), on one "
             "shared 2-core machine. The list rows cycle through the first page, status=open, limit=200, q=NUPTK "
             "and the 20th page by cursor. Medians of the rounds; each round's figures in brackets.\n",
             f"    {command}\n",
             "| request | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | server CPU ms/request | load (1 min) "
             "| target |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    targets = {LIST: ("p95 < 100 ms", lambda f: _median(f, "P95") < 100),
               CREATE: (">= 200/s", lambda f: _median(f, "rps") >= 200)}
    for name, figures in rounds.items():
        target, met = targets[name]
        each = ", ".join(f"{f.get('P95', 0):.0f}" for f in figures)
        lines.append(f"| {name} | {_median(figures, 'rps'):.0f} | {_median(figures, 'P50'):.1f} | "
                     f"{_median(figures, 'P95'):.1f} [{each}] | {_median(figures, 'P99'):.1f} | "
                     f"{sum(f['non2xx'] for f in figures)} | {_median(figures, 'cpu_ms'):.1f} | "
                     f"{min(f['load'] for f in figures):.1f}-{max(f['load'] for f in figures):.1f} | "
                     f"{target} ({'met' if met(figures) else 'missed'}) |")
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
