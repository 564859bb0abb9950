"""The audit trail: every change to a ticket is an Event, written by the service
that made the change, in the same transaction."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import Event, Ticket, User, utcnow
from core.storage.fast import write_plain

SYSTEM = "system"
CUSTOMER = "customer"


def actor_name(actor: User | str | None) -> str:
    if actor is None:
        return SYSTEM
    return actor if isinstance(actor, str) else actor.email


# Called after each event is written, with (session, ticket, kind, actor name,
# from, to, at): core.hooks.events queues webhook deliveries here. The audit
# trail sits below everything in core, so it calls up only through this list.
LISTENERS: list[Callable[..., None]] = []


# The channel a change came through when the actor alone does not say it (an
# API token acting as its user): added to the detail of every event recorded.
_VIA: ContextVar[str | None] = ContextVar("audit_via", default=None)


@contextmanager
def via(channel: str) -> Iterator[None]:
    """Within this block, every event's detail says "via <channel>"."""
    token = _VIA.set(channel)
    try:
        yield
    finally:
        _VIA.reset(token)


def _with_channel(detail: str | None) -> str | None:
    channel = _VIA.get()
    if channel is None:
        return detail
    return f"{detail} (via {channel})" if detail else f"via {channel}"


# Built once: nearly every change records an event (batches too: core.tickets.assignment).
INSERT_EVENT = insert(Event.__table__)


def record(session: Session, ticket: Ticket | None, kind: str, actor: User | str | None = None, *,
           from_value: object = None, to_value: object = None, detail: str | None = None,
           at: datetime | None = None) -> None:
    """Write the event at once, by a plain INSERT: events are only ever added,
    and the unit of work would cost more than the row. The ticket must have
    its id already (be flushed). LISTENERS run in the same transaction (a
    ticket event that webhooks want queues their deliveries)."""
    at = at or utcnow()
    write_plain(session.connection(), INSERT_EVENT, {
        "ticket_id": ticket.id if ticket is not None else None,
        "at": at,
        "actor": actor_name(actor),
        "actor_id": actor.id if isinstance(actor, User) else None,
        "kind": kind,
        "from_value": None if from_value is None else str(from_value)[:255],
        "to_value": None if to_value is None else str(to_value)[:255],
        "detail": _with_channel(detail),
    })
    for listener in LISTENERS:
        listener(session, ticket, kind, actor_name(actor), from_value, to_value, at)
