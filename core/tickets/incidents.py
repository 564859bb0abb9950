"""Incidents: many tickets about one cause (a national outage), answered together.

Staff mark a ticket as the parent of an incident and attach others to it, by
selection or by a search; only tickets the user may act on can be attached.
One reply on the parent goes to every attached ticket's requester, each as
that ticket's own message and mail in its own thread, and sets each
ticket's status: a bulk job (core.tickets.bulk.reply_to_incident, which
also attaches many at once). Attached tickets close when the parent closes
(core.tickets.lifecycle.move).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.models import Message, Status, Ticket, User, utcnow
from core.tickets import actions
from core.tickets.actions import ActionRefused
from core.words import N_

# The most tickets one search offers to attach.
SEARCH_LIMIT = 5000


def declare(session: Session, parent: Ticket, actor: User, *, now: datetime | None = None) -> None:
    """Make the ticket the parent of an incident (it must not be attached to one itself)."""
    if parent.incident_id is not None:
        raise ActionRefused(N_("the ticket is attached to an incident itself"))
    if parent.status is Status.closed:
        raise ActionRefused(N_("a closed ticket cannot become an incident"))
    if parent.is_incident:
        return
    parent.is_incident = True
    parent.updated_at = now or utcnow()
    audit.record(session, parent, "incident", actor, at=parent.updated_at)


def find_incident(session: Session, actor: User, ref: str) -> Ticket:
    """The incident by reference, held by the user's office (ActionRefused otherwise)."""
    try:
        parent = actions.find_actionable(session, actor, ref)
    except (actions.TicketNotFound, actions.ReadOnly):
        raise ActionRefused(N_("no ticket %(ref)s that your office holds") % {"ref": ref.strip().upper()}) from None
    if not parent.is_incident:
        raise ActionRefused(N_("%(ref)s is not an incident") % {"ref": parent.ref})
    return parent


def attach_one(session: Session, actor: User, parent: Ticket, ticket: Ticket, now: datetime) -> None:
    """One ticket into the incident (the caller found it with find_actionable)."""
    if ticket.id == parent.id or ticket.is_incident:
        raise ActionRefused(N_("an incident cannot be attached to an incident"))
    if ticket.status is Status.closed:
        raise ActionRefused(N_("the ticket is closed"))
    if ticket.incident_id == parent.id:
        return
    if ticket.incident_id is not None:
        raise ActionRefused(N_("the ticket is attached to another incident"))
    ticket.incident_id = parent.id
    ticket.updated_at = now
    session.flush()
    audit.record(session, ticket, "incident_attached", actor, to_value=parent.ref, at=now)


def detach(session: Session, actor: User, parent: Ticket, ref: str, *, now: datetime | None = None) -> Ticket:
    """Take one ticket out of the incident (it must be the user's office's)."""
    ticket = actions.find_actionable(session, actor, ref)
    if ticket.incident_id != parent.id:
        raise ActionRefused(N_("%(ref)s is not attached to %(incident)s") % {"ref": ticket.ref, "incident": parent.ref})
    ticket.incident_id = None
    ticket.updated_at = now or utcnow()
    audit.record(session, ticket, "incident_detached", actor, from_value=parent.ref, at=ticket.updated_at)
    return ticket


def attached(session: Session, parent: Ticket) -> list[tuple[str, Status, str]]:
    """(ref, status, requester) of each attached ticket, oldest first."""
    return [tuple(row) for row in session.execute(
        select(Ticket.ref, Ticket.status, Ticket.requester_email).where(Ticket.incident_id == parent.id)
        .order_by(Ticket.id))]


def parent_ref(session: Session, ticket: Ticket) -> str | None:
    """The reference of the incident the ticket is attached to, or None."""
    if ticket.incident_id is None:
        return None
    return session.scalar(select(Ticket.ref).where(Ticket.id == ticket.incident_id))


def search(session: Session, actor: User, parent: Ticket, query: str) -> list[str]:
    """Refs of the tickets the user's office holds, not closed and not in an
    incident, whose subject, requester or text of the first message holds
    every word of the query: the candidates to attach. Held by the user's
    office is the rule of core.access.visibility.can_act, applied in the query."""
    words = [w.lower() for w in query.split() if w.strip()][:8]
    if not words:
        raise ActionRefused(N_("type some words to search for"))
    first = select(func.min(Message.id)).where(Message.ticket_id == Ticket.id).correlate(Ticket).scalar_subquery()
    text = select(func.lower(Message.text)).where(Message.id == first).scalar_subquery()
    terms = [or_(func.lower(Ticket.subject).contains(w, autoescape=True),
                 func.lower(Ticket.requester_email).contains(w, autoescape=True),
                 text.contains(w, autoescape=True)) for w in words]
    return list(session.scalars(select(Ticket.ref).where(
        Ticket.office_id == actor.office_id, Ticket.status != Status.closed, Ticket.is_incident.is_(False),
        Ticket.incident_id.is_(None), Ticket.id != parent.id, *terms).order_by(Ticket.id).limit(SEARCH_LIMIT)))
