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

from celery import shared_task

from core.storage.db import Database
from core.tickets.bulk import Pace, run_pending
from tasks.databases import database_of
from tasks.priority import NICENESS, at_low_priority


def run_bulk(database: Database, niceness: int = NICENESS) -> int:
    """Run the pending bulk jobs at lower priority, or resting as the settings
    say (niceness_for); how many ran."""
    duty = database.settings.bulk_duty
    return at_low_priority(lambda: run_pending(database, Pace(duty)), niceness_for(duty, niceness), "bulk-job")


def niceness_for(duty: float, niceness: int = NICENESS) -> int:
    """How much lower a job's priority is: `niceness` when it never rests,
    none when it rests (it yields the machine that way instead)."""
    return niceness if duty >= 1 else 0


@shared_task(bind=True, acks_late=True, ignore_result=True)
def run_bulk_jobs(self) -> int:
    """Run the pending bulk jobs; beat sends it every few seconds. Each job is
    claimed before it runs, so a doubled pass or a second worker does no harm."""
    return run_bulk(database_of(self.app))
