"""Which webhook event an audit event is, and its delivery queued for every
webhook that wants it.

Called by core.audit.record (as its listener, registered on import) for every
event, so no change path (mail
intake, staff actions, moves, assignment, the sweep) can be missed; a
customer's reply, which the audit trail does not record as an event, is
passed here by core.tickets.arrival. Cost without webhooks: a dict lookup, and a cached flag
(core.hooks.queue.any_enabled) for the kinds that map to an event.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core import audit
from core.hooks import queue
from core.models import Channel, Ticket

# Audit kinds (as core services record them) and the webhook event each is.
EVENT_OF_KIND = {
    "created": "ticket.created",
    "reply": "ticket.replied",
    "customer_reply": "ticket.replied",
    "status": "ticket.status_changed",
    "assign": "ticket.assigned",
    "forward": "ticket.forwarded",
    "pull_back": "ticket.forwarded",
    "sla_breach": "ticket.sla_breached",
}


def on_audit(session: Session, ticket: Ticket | None, kind: str, actor: str, from_value: object,
             to_value: object, at: datetime) -> None:
    """Queue the webhook deliveries an audit event causes, if any."""
    event = EVENT_OF_KIND.get(kind)
    if event is None or ticket is None or not queue.any_enabled(session):
        return
    targets = queue.enabled_for(session, event)
    if not targets:
        return
    body = payload(ticket, event, actor, from_value, to_value, at)
    for webhook_id, url in targets:
        queue.enqueue(session, channel=Channel.webhook, endpoint=f"webhook:{webhook_id}", event=event, body=body,
                      ticket_id=ticket.id, webhook_id=webhook_id, now=at)


def on_audit_ids(session: Session, kind: str, changes: list[tuple[int, object]], actor: str, at: datetime) -> None:
    """on_audit for events written in bulk: (ticket id, new value) pairs."""
    if EVENT_OF_KIND.get(kind) is None or not changes or not queue.any_enabled(session):
        return
    for ticket_id, to_value in changes:
        on_audit(session, session.get(Ticket, ticket_id), kind, actor, None, to_value, at)


def payload(ticket: Ticket, event: str, actor: str, from_value: object, to_value: object, at: datetime) -> dict:
    """What a receiver gets: the event, the change, and the ticket as it is now."""
    return {
        "event": event,
        "occurred_at": at.isoformat(),
        "actor": actor,
        "change": {"from": None if from_value is None else str(from_value),
                   "to": None if to_value is None else str(to_value)},
        "ticket": {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "status": str(ticket.status),
            "office": ticket.office.code if ticket.office is not None else None,
            "assignee": ticket.assignee.email if ticket.assignee is not None else None,
            "priority": ticket.priority.name if ticket.priority is not None else None,
            "requester": ticket.requester_email,
            "created_at": ticket.created_at.isoformat() if ticket.created_at else None,
        },
    }


audit.LISTENERS.append(on_audit)
