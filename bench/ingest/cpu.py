"""CPU per mail of the ingest pipeline, in one process, without SMTP.

    .venv/bin/python bench/ingest/cpu.py [--count 600] [--corpus DIR]

    .venv/bin/python bench/ingest/mailgen.py /tmp/corpus --count 2000
    valgrind --tool=callgrind .venv/bin/python bench/ingest/cpu.py --corpus /tmp/corpus --count 150
    valgrind --tool=callgrind .venv/bin/python bench/ingest/cpu.py --corpus /tmp/corpus --count 0

Imports the bench corpus's directory (generated, or the one in --corpus)
into a fresh SQLite data dir, then feeds the first --count mails to
`mailin.pipeline.ingest` one after another and prints the CPU and wall time
per mail. Wall-clock figures on a shared machine swing by half; callgrind
counts instructions instead, the same whatever else runs: the difference
between a run of N mails and a run of 0 on the same corpus, divided by N, is
the pipeline's cost per mail.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import ceiling  # noqa: E402
import mailgen  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--corpus", type=Path, help="a corpus made by mailgen.py; default: generate --count mails")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ingest-cpu-") as work:
        corpus, data = args.corpus or Path(work) / "corpus", Path(work) / "data"
        if args.corpus is None:
            mailgen.generate(corpus, max(args.count, 1))
        env = {**os.environ, "HELPDESK_DATA_DIR": str(data), "HELPDESK_ADDRESS": "helpdesk@localhost",
               "HELPDESK_DATABASE_URL": f"sqlite:///{data}/helpdesk.db"}
        for key in ("HELPDESK_SECRET_KEY", "HELPDESK_BROKER_URL", "HELPDESK_SMTP_RELAY"):
            env.pop(key, None)
        for command in (["init-db"], ["import-directory", str(corpus / "directory.csv")]):
            subprocess.run([sys.executable, "-c", "from cli import main; main()", *command], cwd=ROOT, env=env,
                           check=True, capture_output=True)
        os.environ.update(env)
        from core.config.settings import load_settings
        from core.storage.db import Database
        from mailin.pipeline import ingest

        db = Database(load_settings())
        mails = [(path.read_bytes(), ceiling.envelope_sender(path))
                 for path in sorted(corpus.glob("*.eml"))[:args.count]]
        cpu, wall = time.process_time(), time.perf_counter()
        for raw, sender in mails:
            ingest(db, raw, sender, ["helpdesk@localhost"])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        db.engine.dispose()
    if mails:
        print(f"{len(mails)} mails: {cpu / len(mails) * 1000:.2f} ms CPU and {wall / len(mails) * 1000:.2f} ms "
              f"wall per mail")


if __name__ == "__main__":
    main()
