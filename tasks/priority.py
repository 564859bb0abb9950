"""Work that yields the CPU to what people and senders wait for.

A bulk job (tasks.bulk) and the spool mover's reads and file writes
(tasks.mail) run in a thread of their own at a lower CPU priority than the
worker's: while they run, the web processes and the SMTP side get the CPU
first, and the worker process itself (its other tasks: mail delivery) keeps
its priority. Work that holds the database's write lock, which the mail
servers' writer waits for, is better left at the worker's priority (the
mover's deletes are): a thread that everything else preempts holds it long.
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

# How many steps of `nice` below the worker such work runs (of 19): CFS then
# gives a thread at the worker's priority about nine times its CPU.
NICENESS = 10

T = TypeVar("T")


def at_low_priority(work: Callable[[], T], niceness: int = NICENESS, name: str = "low-priority") -> T:
    """`work()` in a thread of its own whose nice value is `niceness` higher.
    On Linux the nice value belongs to the thread, so the process (a Celery
    pool process that runs other tasks next) keeps its own, which it could
    not take back once lowered; elsewhere the work runs as it is."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=_lower_priority,
                            initargs=(niceness,)) as pool:
        return pool.submit(work).result()


def _lower_priority(niceness: int) -> None:
    if sys.platform == "linux":
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
