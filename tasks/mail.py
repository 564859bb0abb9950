"""Inbound mail tasks: thin, they own nothing but the call."""
from __future__ import annotations

from celery import shared_task

from mailin.quarantine import reprocess_requested
from tasks.databases import database_of


@shared_task(bind=True, acks_late=True, ignore_result=True)
def reprocess_quarantined(self) -> dict:
    """Quarantined mail an admin asked to process again; beat sends it every few seconds."""
    done = reprocess_requested(database_of(self.app))
    return {"done": done.done, "still_quarantined": done.still_quarantined, "retry_later": done.retry_later}
