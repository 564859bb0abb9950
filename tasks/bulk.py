"""Bulk jobs too large for a request: thin, they own nothing but the call."""
from __future__ import annotations

from celery import shared_task

from core.tickets.bulk import run_pending
from tasks.databases import database_of


@shared_task(bind=True, acks_late=True, ignore_result=True)
def run_bulk_jobs(self) -> int:
    """Run the pending bulk jobs; beat sends it every few seconds. Each job is
    claimed before it runs, so a doubled pass or a second worker does no harm."""
    return run_pending(database_of(self.app))
