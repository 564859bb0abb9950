"""The audit trail: every change to a ticket is an Event, written by the service
that made the change, in the same transaction."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Callable, Iterator, NamedTuple

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import Event, Ticket, User, utcnow
from core.storage.fast import write_soon

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

# The events `together` holds back: the session they belong to and their rows.
_HELD: ContextVar[tuple[Session, list[dict]] | None] = ContextVar("audit_held", default=None)


@contextmanager
def together(session: Session) -> Iterator[None]:
    """Within this block, the session's events are written in one statement
    at its end instead of one statement each: an action that records several
    (a reply that assigns the ticket and changes its status: three) pays one
    round trip for them, which a bulk reply pays per ticket. Nothing in the
    block may read the events back. An error leaves them unwritten, as the
    rollback that follows it would; listeners still run at each record."""
    held = _HELD.get()
    if held is not None and held[0] is session:  # inside another block: that one writes them
        yield
        return
    rows: list[dict] = []
    token = _HELD.set((session, rows))
    try:
        yield
    finally:
        _HELD.reset(token)
    if len(rows) == 1:
        write_soon(session.connection(), INSERT_EVENT, rows[0])
    elif rows:
        session.connection().execute(INSERT_EVENT, rows)


class Recorded(NamedTuple):
    """An event as `kept` gives it back: the columns an Event shows."""
    ticket_id: int | None
    at: datetime
    actor: str
    kind: str
    from_value: str | None
    to_value: str | None


# The events a `kept` block keeps: the session they belong to and the list they go to.
_KEPT: ContextVar[tuple[Session, list[Recorded]] | None] = ContextVar("audit_kept", default=None)


@contextmanager
def kept(session: Session) -> Iterator[list[Recorded]]:
    """Within this block, each event the session records is also added, in
    the order written, to the list this gives: a caller that answers with
    the history of a change it just made (the API's new ticket) need not
    read the events back."""
    events: list[Recorded] = []
    token = _KEPT.set((session, events))
    try:
        yield events
    finally:
        _KEPT.reset(token)


def _keep(session: Session, rows: list[dict]) -> None:
    keeping = _KEPT.get()
    if keeping is not None and keeping[0] is session:
        keeping[1].extend(Recorded(row["ticket_id"], row["at"], row["actor"], row["kind"], row["from_value"],
                                   row["to_value"]) for row in rows)


def record_all(session: Session, rows: list[dict]) -> None:
    """Write these events (rows of the event table) in one statement, as a
    batch records them (core.tickets.assignment); listeners are the caller's."""
    session.connection().execute(INSERT_EVENT, rows)
    _keep(session, rows)


def record(session: Session, ticket: Ticket | None, kind: str, actor: User | str | None = None, *,
           from_value: object = None, to_value: object = None, detail: str | None = None,
           at: datetime | None = None) -> None:
    """Write the event by a plain INSERT (sent with the next statement, see
    core.storage.fast.write_soon): events are only ever added, and the unit
    of work would cost more than the row. The ticket must have
    its id already (be flushed). LISTENERS run in the same transaction (a
    ticket event that webhooks want queues their deliveries). Within
    `together`, the row waits for the block's end."""
    at = at or utcnow()
    row = {
        "ticket_id": ticket.id if ticket is not None else None,
        "at": at,
        "actor": actor_name(actor),
        "actor_id": actor.id if isinstance(actor, User) else None,
        "kind": kind,
        "from_value": None if from_value is None else str(from_value)[:255],
        "to_value": None if to_value is None else str(to_value)[:255],
        "detail": _with_channel(detail),
    }
    held = _HELD.get()
    if held is not None and held[0] is session:
        held[1].append(row)
    else:
        write_soon(session.connection(), INSERT_EVENT, row)
    _keep(session, [row])
    for listener in LISTENERS:
        listener(session, ticket, kind, actor_name(actor), from_value, to_value, at)
