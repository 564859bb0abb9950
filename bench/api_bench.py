"""The REST API under load on PostgreSQL: `GET /api/v1/tickets` for a Province
agent (first pages with and without filters, and a page deep in the cursor
chain) and `POST /api/v1/tickets` (open a ticket for a requester), served by
gunicorn and measured with wrk at 8 connections, back to back.

    .venv/bin/python bench/api_bench.py [--tickets 1000000] [--schools 100000] [--connections 8]

The database is filled as bench/staff_bench.py fills it (--database URL
measures an already filled one, e.g. one kept by `staff_bench.py --keep`).
Prints p50/p95/p99 and requests/s and appends them to bench/RESULTS.md
(--no-record to skip). Targets: list p95 < 100 ms, create >= 200/s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scratch import scratch_site  # noqa: E402
from staff_bench import PASSWORD, fill  # noqa: E402


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
NEW_TICKET = json.dumps({"requester_email": "bench%d.%d@example.test", "requester_name": "Bench",
                         "subject": "Dapodik tidak bisa sinkron", "text": "Mohon bantuan, sinkronisasi gagal."})


def call(base: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    return json.load(urllib.request.urlopen(request))


def wrk(base: str, token: str, paths: list[str], connections: int, seconds: int, method: str = "GET") -> dict:
    lua_body = "[[" + NEW_TICKET + "]]"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (", ".join(f'"{p}"' for p in paths), method, lua_body))
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "-s", script.name,
                          "-H", f"Authorization: Bearer {token}", base], capture_output=True, text=True,
                         check=True).stdout
    os.unlink(script.name)
    figures = {k: float(v) for k, v in re.findall(r"^(P\d\d) ([\d.]+)$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), **figures,
            "non2xx": int(bad.group(1)) if bad else 0}


def list_paths(base: str, token: str) -> list[str]:
    """First pages (no filter, by status, by words) and the 20th page of 50 by cursor."""
    cursor = None
    for _ in range(19):
        cursor = call(base, "/api/v1/tickets?limit=50" + (f"&cursor={cursor}" if cursor else ""), token)["next"]
    return ["/api/v1/tickets", "/api/v1/tickets?status=open", "/api/v1/tickets?limit=200",
            "/api/v1/tickets?q=NUPTK", f"/api/v1/tickets?limit=50&cursor={cursor}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--server-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", help="an already filled database to measure (kept afterwards)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with scratch_site(args.server_url, "api-bench-", args.database) as site:
        if not args.database:
            fill(site.database, args.tickets, args.schools)
        site.serve(ROOT, args.workers)
        token = call(site.base, "/api/v1/auth/login", body={"email": "agent@p02.bench", "password": PASSWORD})[
            "access_token"]
        paths = list_paths(site.base, token)
        wrk(site.base, token, paths, args.workers, 3)  # warm every worker
        results = [("GET /api/v1/tickets (Province)", wrk(site.base, token, paths, args.connections, args.seconds)),
                   ("POST /api/v1/tickets", wrk(site.base, token, ["/api/v1/tickets"], args.connections,
                                                args.seconds, "POST"))]
        for name, figures in results:
            print(name, figures, flush=True)
        if not args.no_record:
            record(results, args, " ".join(["python", *sys.argv]))


def record(results: list, args, command: str) -> None:
    lines = [f"\n## REST API: ticket list and ticket creation, {date.today().isoformat()}\n",
             f"A Province agent's token on PostgreSQL holding {args.tickets:,} tickets and {args.schools:,} "
             f"schools (staff_bench's fill); gunicorn with {args.workers} sync workers; wrk with "
             f"{args.connections} connections back to back for {args.seconds} s per row, on one shared 2-core "
             "machine. The list rows cycle through the first page, status=open, limit=200, q=NUPTK and the 20th "
             "page by cursor.\n", f"    {command}\n",
             "| request | requests/s | p50 ms | p95 ms | p99 ms | non-2xx | target |", "| --- | --- | --- | --- | --- | --- | --- |"]
    targets = ["p95 < 100 ms", ">= 200/s"]
    for (name, f), target in zip(results, targets):
        lines.append(f"| {name} | {f['rps']:.0f} | {f.get('P50', 0):.1f} | {f.get('P95', 0):.1f} | "
                     f"{f.get('P99', 0):.1f} | {f['non2xx']} | {target} |")
    with open(ROOT / "bench" / "RESULTS.md", "a") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
