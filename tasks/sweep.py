"""The periodic sweep: auto-close, SLA flags and escalation, reassignment."""
from __future__ import annotations

from celery import shared_task

from core.tickets.sweep import run_sweep
from tasks.databases import database_of


@shared_task(bind=True, acks_late=True, ignore_result=True)
def sweep(self) -> str:
    """One sweep as of now; idempotent and safe beside another, so a late or
    doubled beat costs nothing."""
    return str(run_sweep(database_of(self.app)))
