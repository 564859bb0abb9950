"""Directory import: 100,000 schools, 34 provinces, ~500 cities, on SQLite.

Runs `helpdesk import-directory` as an operator would (a fresh database each
round, then the same file again, which must change nothing), and in the same
run the ceiling: the same rows written by plain sqlite3 executemany into a
bare table, with no checks. Reports medians of the rounds and the ratio.

    .venv/bin/python bench/import_bench.py [--schools 100000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_directory(path: Path, schools: int, provinces: int = 34, cities: int = 514) -> int:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "kind", "parent_code", "email"])
        out.writerow(["KEMDIK", "Kementerian Pendidikan", "ministry", "", ""])
        for p in range(provinces):
            out.writerow([f"P{p:02d}", f"Dinas Pendidikan Provinsi {p}", "province", "KEMDIK", ""])
        for c in range(cities):
            out.writerow([f"C{c:04d}", f"Dinas Pendidikan Kota {c}", "city", f"P{c % provinces:02d}", ""])
        for s in range(schools):
            out.writerow([f"S{s:06d}", f"SMA Negeri {s} Kota {s % cities}", "school", f"C{s % cities:04d}",
                          f"sekolah{s:06d}@sekolah.id"])
    return 1 + provinces + cities + schools


def helpdesk(data_dir: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "HELPDESK_DATA_DIR": str(data_dir),
           "HELPDESK_DATABASE_URL": f"sqlite:///{data_dir / 'helpdesk.db'}"}
    env.pop("HELPDESK_SECRET_KEY", None)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from cli import main; main()", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout.strip().splitlines()[-1]


def ceiling(csv_path: Path, db_path: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE office (id INTEGER PRIMARY KEY, code TEXT UNIQUE, name TEXT, kind TEXT, "
                 "parent TEXT, email TEXT UNIQUE)")
    with open(csv_path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        with conn:
            conn.executemany("INSERT INTO office (code, name, kind, parent, email) VALUES (?, ?, ?, ?, NULLIF(?, ''))",
                             rows)
    conn.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = write_directory(tmp / "directory.csv", args.schools)
        ours, again, bare = [], [], []
        for n in range(args.rounds):
            data = tmp / f"round{n}"
            helpdesk(data, "init-db")
            seconds, summary = helpdesk(data, "import-directory", str(tmp / "directory.csv"))
            ours.append(seconds)
            seconds_again, summary_again = helpdesk(data, "import-directory", str(tmp / "directory.csv"))
            again.append(seconds_again)
            bare.append(ceiling(tmp / "directory.csv", tmp / f"bare{n}.db"))
            print(f"round {n + 1}: import {ours[-1]:.1f} s ({summary}); again {again[-1]:.1f} s "
                  f"({summary_again}); bare sqlite3 {bare[-1]:.2f} s", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    median, median_again, median_bare = (statistics.median(x) for x in (ours, again, bare))
    print(f"\nrows {rows:,}; rounds {args.rounds} (medians)")
    print(f"helpdesk import-directory: {median:.1f} s, {rows / median:,.0f} rows/s (target: under 60 s)")
    print(f"the same file again:       {median_again:.1f} s, changes nothing")
    print(f"ceiling, bare executemany: {median_bare:.2f} s, {rows / median_bare:,.0f} rows/s")
    print(f"ratio ours/ceiling time:   {median / median_bare:.1f}x")
    print(f"peak memory of a command:  {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
