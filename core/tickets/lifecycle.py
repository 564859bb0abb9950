"""The ticket state machine: one table of allowed transitions, one function to move.

    open ──reply──▶ answered ──customer writes──▶ open
      │                │ N days quiet: auto-close
      ├─▶ on_hold      ▼
      ├─▶ forwarded ─▶ open (the higher office picks it up)
      └─▶ closed ──mail within the reopen window──▶ open
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.models import Status, Ticket, User, utcnow
from core.tickets import sla
from core.words import N_

S = Status
ALLOWED: dict[Status, frozenset[Status]] = {
    S.open: frozenset({S.answered, S.on_hold, S.forwarded, S.closed}),
    S.answered: frozenset({S.open, S.on_hold, S.forwarded, S.closed}),
    S.on_hold: frozenset({S.open, S.answered, S.forwarded, S.closed}),
    S.forwarded: frozenset({S.open, S.answered, S.on_hold, S.forwarded, S.closed}),
    S.closed: frozenset({S.open}),
}

# Each status's name for people, the one the portal shows everywhere (badges,
# filters, history, and sentences such as a refused change); localized at the edge.
STATUS_LABELS: dict[Status, str] = {
    S.open: N_("Open"), S.answered: N_("Answered"), S.on_hold: N_("On hold"), S.forwarded: N_("Forwarded"),
    S.closed: N_("Closed"),
}
# The sentence a refused change of status is told in, with both statuses' labels.
CANNOT_MOVE = N_("the status cannot go from %(status)s to %(new_status)s")

# A message from the customer moves the ticket back to staff from these states.
REOPENED_BY_CUSTOMER = frozenset({S.answered, S.on_hold, S.closed})


class ForbiddenTransition(Exception):
    def __init__(self, ticket_ref: str, current: Status, wanted: Status):
        super().__init__(N_("%(ref)s: the status cannot go from %(status)s to %(new_status)s") % {
            "ref": ticket_ref, "status": STATUS_LABELS[current], "new_status": STATUS_LABELS[wanted]})
        self.current, self.wanted = current, wanted


def can_move(current: Status, wanted: Status) -> bool:
    return wanted in ALLOWED[current]


def move(session: Session, ticket: Ticket, wanted: Status, actor: User | str | None = None, *,
         now: datetime | None = None, detail: str | None = None, policy: Policy | None = None) -> None:
    """Change the status, stamp the times that depend on it (the SLA clocks stop
    or restart: core.tickets.sla.pause_or_resume), and audit it. `policy`
    spares a read of it when the clocks restart."""
    current = ticket.status
    if not can_move(current, wanted):
        raise ForbiddenTransition(ticket.ref, current, wanted)
    now = now or utcnow()
    ticket.status = wanted
    ticket.status_changed_at = now
    if wanted is S.closed:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    elif current is S.closed:
        ticket.closed_at = None
        ticket.resolved_at = None
    sla.pause_or_resume(session, ticket, current, wanted, now, policy)
    audit.record(session, ticket, "status", actor, from_value=current, to_value=wanted,
                 detail=detail, at=now)
    if wanted is S.closed and ticket.is_incident:
        close_attached(session, ticket, actor, now, policy)


def close_attached(session: Session, parent: Ticket, actor: User | str | None, now: datetime,
                   policy: Policy | None) -> int:
    """An incident closed: so does every ticket attached to it (core.tickets.incidents).
    Here, in the one function every close goes through (staff, reply and
    close, auto-close, merge), so no path leaves them open. Their customers
    were answered by the incident's replies; the close itself sends no mail."""
    attached = list(session.scalars(select(Ticket).where(Ticket.incident_id == parent.id,
                                                         Ticket.status != S.closed)))
    for ticket in attached:
        move(session, ticket, S.closed, actor, now=now, detail=f"incident {parent.ref} closed", policy=policy)
        ticket.updated_at = now
    return len(attached)
