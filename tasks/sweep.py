"""The periodic sweep: auto-close, SLA flags and escalation, reassignment."""
from __future__ import annotations

from celery import shared_task

from core.tickets.sweep import fill_pool as fill_office_pool
from core.tickets.sweep import run_sweep
from tasks.databases import database_of


@shared_task(bind=True, acks_late=True, ignore_result=True)
def sweep(self) -> str:
    """One sweep as of now; idempotent and safe beside another, so a late or
    doubled beat costs nothing."""
    return str(run_sweep(database_of(self.app)))


@shared_task(bind=True, acks_late=True, ignore_result=True)
def fill_pool(self, office_id: int) -> int:
    """Hand out one office's unassigned tickets in batches now, rather than at the
    next sweep (after an import of tickets or a return to work); safe beside the
    sweep and beside another such task."""
    return fill_office_pool(database_of(self.app), office_id)
