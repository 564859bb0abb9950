"""A ticket's participants: the people copied on it besides the requester.

Addresses in the Cc of the mail that opens a ticket become participants
(our own addresses and loop sources such as mailer-daemon excepted); staff
add and remove them. Participants get their own copy of each staff reply,
with a private link of their own (core.mail.copies), and may write into the
ticket: the threading step's stranger check lets them in.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from core import audit
from core.config.settings import Settings
from core.directory.csvrows import EMAIL
from core.mail.copies import link_values
from core.mail.notices import loop_risk
from core.mail.notices import participant_addresses as addresses
from core.models import Participant, Ticket, User, utcnow
from core.storage.fast import insert_now, new
from core.tickets.actions import ActionRefused
from core.words import N_

# A mail Cc'ing hundreds of addresses is a list or spam, not a principal and a
# teacher: the first few are kept, the rest are named in the audit event.
MAX_FROM_MAIL = 10


class ParticipantRefused(ActionRefused):
    """The address cannot be a participant of this ticket; the message says why."""


def usable(settings: Settings, ticket: Ticket, candidates: Iterable[str]) -> tuple[list[str], list[str]]:
    """(kept, left out) of these addresses: valid, not ours, not a loop
    source, not the requester, each once, at most MAX_FROM_MAIL kept."""
    kept: list[str] = []
    left: list[str] = []
    requester = (ticket.requester_email or "").lower()
    for address in dict.fromkeys(a.strip().lower() for a in candidates):
        if not EMAIL.fullmatch(address) or address == requester or loop_risk(settings, address):
            continue
        (kept if len(kept) < MAX_FROM_MAIL else left).append(address)
    return kept, left


def add_from_mail(session: Session, settings: Settings, ticket: Ticket, cc: Iterable[str],
                  now: datetime | None = None) -> list[str]:
    """Make a new ticket's Cc addresses its participants, by plain INSERTs
    (see core.storage.fast) and one audit event; the addresses kept."""
    kept, left = usable(settings, ticket, cc)
    if not kept:
        return []
    now = now or utcnow()
    insert_now(session, *(new(Participant, ticket_id=ticket.id, address=address, source="mail", created_at=now,
                              **link_values(settings, ticket.id, address, now)) for address in kept))
    detail = "from Cc" + (f"; left out (over {MAX_FROM_MAIL}): {', '.join(left)}" if left else "")
    audit.record(session, ticket, "participant_added", audit.CUSTOMER, to_value=", ".join(kept), detail=detail[:2000],
                 at=now)
    return kept


def add(session: Session, settings: Settings, ticket: Ticket, actor: User, address: str,
        now: datetime | None = None) -> str:
    """Staff copy an address on the ticket; the address as kept."""
    address = (address or "").strip().lower()
    if not EMAIL.fullmatch(address):
        raise ParticipantRefused(N_("%(address)s is not an email address") % {"address": address} if address
                                 else N_("an empty address is not an email address"))
    if address == (ticket.requester_email or "").lower():
        raise ParticipantRefused(N_("%(address)s is the requester") % {"address": address})
    risk = loop_risk(settings, address)
    if risk:
        raise ParticipantRefused(N_("%(address)s cannot be copied: %(risk)s") % {"address": address, "risk": risk})
    if address in addresses(session, ticket.id):
        raise ParticipantRefused(N_("%(address)s is already a participant") % {"address": address})
    now = now or utcnow()
    insert_now(session, new(Participant, ticket_id=ticket.id, address=address, source="staff",
                            added_by_id=actor.id, created_at=now, **link_values(settings, ticket.id, address, now)))
    audit.record(session, ticket, "participant_added", actor, to_value=address, at=now)
    return address


def remove(session: Session, ticket: Ticket, actor: User, address: str, now: datetime | None = None) -> None:
    """Staff take an address off the ticket: no more copies, its private link
    opens nothing, and its mail is a stranger's again."""
    address = (address or "").strip().lower()
    gone = session.execute(delete(Participant).where(
        Participant.ticket_id == ticket.id, Participant.address == address)).rowcount
    if not gone:
        raise ParticipantRefused(N_("%(address)s is not a participant") % {"address": address})
    audit.record(session, ticket, "participant_removed", actor, from_value=address, at=now or utcnow())


# Built once: every reply from someone other than the requester reads it.
_IS_PARTICIPANT = select(Participant.id).where(
    Participant.ticket_id == bindparam("ticket_id"), Participant.address == bindparam("address")).limit(1)


def listed(session: Session, ticket_id: int) -> list[Participant]:
    """The participants as the staff page lists them."""
    return list(session.scalars(select(Participant).where(Participant.ticket_id == ticket_id)
                                .order_by(Participant.id)))


def is_participant(session: Session, ticket_id: int, address: str) -> bool:
    return session.scalar(_IS_PARTICIPANT, {"ticket_id": ticket_id, "address": address.lower()}) is not None
