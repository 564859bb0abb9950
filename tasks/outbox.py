"""Outbox tasks: thin, they own nothing but the call."""
from __future__ import annotations

from celery import shared_task

from mailout.deliver import deliver_due
from mailout.hooks import deliver_hooks_due
from tasks.databases import database_of


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_outbox(self) -> dict:
    """One delivery pass; beat sends it every few seconds, a commit that wrote
    outbox rows may send it at once (`deliver_outbox.delay()`)."""
    report = deliver_due(database_of(self.app))
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}


@shared_task(bind=True, acks_late=True, ignore_result=True)
def deliver_hooks(self) -> dict:
    """One pass over the webhook and chat deliveries, beside the mail's: a slow
    receiver (up to mailout.hooks.TIMEOUT) must not hold up the mail."""
    report = deliver_hooks_due(database_of(self.app))
    return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
