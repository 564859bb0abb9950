"""Bulk jobs too large for a request: thin, they own nothing but the call.

A job runs in a thread of its own at a lower CPU priority than the worker's,
so that while it runs the web processes serving staff get the CPU first, and
the worker process itself (its other tasks: mail delivery) keeps its
priority. Where the operator asks for rests instead (Settings.bulk_duty
below 1: the priority cannot reach the web, in another cgroup), the job
rests and keeps the worker's priority: the two together measured worse for
the queue pages than either alone (bench/RESULTS.md, 2026-12-06).
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from celery import shared_task

from core.storage.db import Database
from core.tickets.bulk import Pace, run_pending
from tasks.databases import database_of

# How many steps of `nice` below the worker a bulk job runs (of 19): CFS then
# gives a web thread at the worker's priority about nine times its CPU.
NICENESS = 10

T = TypeVar("T")


def run_bulk(database: Database, niceness: int = NICENESS) -> int:
    """Run the pending bulk jobs at lower priority, or resting as the settings
    say (niceness_for); how many ran."""
    duty = database.settings.bulk_duty
    return at_low_priority(lambda: run_pending(database, Pace(duty)), niceness_for(duty, niceness))


def niceness_for(duty: float, niceness: int = NICENESS) -> int:
    """How much lower a job's priority is: `niceness` when it never rests,
    none when it rests (it yields the machine that way instead)."""
    return niceness if duty >= 1 else 0


def at_low_priority(work: Callable[[], T], niceness: int = NICENESS) -> T:
    """`work()` in a thread of its own whose nice value is `niceness` higher.
    On Linux the nice value belongs to the thread, so the process (a Celery
    pool process that runs other tasks next) keeps its own, which it could
    not take back once lowered; elsewhere the work runs as it is."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-job", initializer=_lower_priority,
                            initargs=(niceness,)) as pool:
        return pool.submit(work).result()


def _lower_priority(niceness: int) -> None:
    if sys.platform == "linux":
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))


@shared_task(bind=True, acks_late=True, ignore_result=True)
def run_bulk_jobs(self) -> int:
    """Run the pending bulk jobs; beat sends it every few seconds. Each job is
    claimed before it runs, so a doubled pass or a second worker does no harm."""
    return run_bulk(database_of(self.app))
