"""`make bench` / `python -m bench [NAME ...]`: run benchmarks by name.

With no name it runs the ones that need nothing but this machine; the
others need PostgreSQL (and some a peer's venv) and take minutes. Each
prints its figures and its comparison in the same run; copy them into
bench/RESULTS.md with the date and the command.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = {  # name: (script, arguments, runs by default)
    "replies": ("reply_score.py", [], True),
    "attachment-check": ("attachment_check_bench.py", ["--rounds", "5"], True),
    "import": ("import_bench.py", ["--rounds", "3"], True),
    "outbox": ("outbox_bench.py", ["--count", "1000", "--rounds", "3"], True),
    "ingest": ("ingest/run.py", [], False),
    "sweep": ("sweep_bench.py", ["--tickets", "1000000", "--schools", "100000", "--backlog-hours", "1"], False),
    "assign": ("assign_bench.py", [], False),
    "ticket-page": ("ticket_page_bench.py", [], False),
    "staff": ("staff_bench.py", [], False),
}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHES]
    if unknown or names in (["-h"], ["--help"]):
        print(__doc__ + "\nbenchmarks: " + ", ".join(BENCHES))
        return 2 if unknown else 0
    chosen = names or [n for n, (_, _, default) in BENCHES.items() if default]
    failed = 0
    for name in chosen:
        script, args, _ = BENCHES[name]
        print(f"\n=== {name}: bench/{script} {' '.join(args)}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / script), *args], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
