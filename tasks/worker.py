"""The all-in-one worker: `celery worker` with beat inside (-B), as `helpdesk run` starts it.

A stop that arrives while Celery is still starting, before it installs its
own signal handlers, ends the process cleanly (exit 0) instead of by signal,
so `helpdesk run` stopped early still reports success.
"""
from __future__ import annotations

import signal
import sys

ARGS = ["-A", "celery_app", "worker", "-B", "--loglevel", "INFO", "--concurrency", "2"]


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from celery.bin.celery import main as celery

    sys.argv = ["celery", *ARGS]
    celery()


if __name__ == "__main__":
    main()
