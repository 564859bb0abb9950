"""Step 5, thread: which ticket a message belongs to.

In order: the [REF] tag in the subject; our own Message-IDs in In-Reply-To or
References (HMAC-checked, so they cannot be forged); Message-IDs of the same
sender's earlier mail already on a ticket, or of mail on a ticket the
sender is a participant of (a principal Cc'd on a school's mail who answers
it with reply-all). A reference only lets its sender in if they are on the
ticket (see may_write): a stranger's mail is opened as a new ticket
linked to the one it named.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session, lazyload

from core.config.settings import Settings
from core.mail.msgids import refs_from_headers
from core.models import Direction, Message, Participant, Ticket
from core.tickets.participants import is_participant
from core.tickets.refs import find_ref
from mailin.inbound import MailHeader


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None = None      # where the message goes; None: a new ticket
    linked: Ticket | None = None      # the ticket a stranger's mail referred to
    reason: str | None = None


def thread(session: Session, settings: Settings, mail: MailHeader) -> Thread:
    ticket = find_ticket(session, settings, mail)
    if ticket is None:
        return Thread()
    if may_write(session, ticket, mail.from_address):
        return Thread(ticket=ticket)
    return Thread(linked=ticket, reason=f"sender {mail.from_address} is not on {ticket.ref}: opened a new ticket")


def find_ticket(session: Session, settings: Settings, mail: MailHeader) -> Ticket | None:
    ticket = by_ref(session, find_ref(mail.subject))
    if ticket is None:
        for ref in refs_from_headers(mail.thread_ids, settings.secret_key, settings.domain):
            ticket = by_ref(session, ref)
            if ticket is not None:
                break
    if ticket is None and mail.thread_ids:
        ticket = session.scalar(_BY_EARLIER_MAIL, {"ids": list(mail.thread_ids), "sender": mail.from_address})
    return _unmerged(session, ticket)


def by_ref(session: Session, ref: str | None) -> Ticket | None:
    if ref is None:
        return None
    return session.scalar(_BY_REF, {"ref": ref})


# Built once: most replies run one of these. The staff pages' joined loads
# (office, assignee, priority) are left out: placing a reply reads none of
# them, and each costs a join and an object; one read later loads then.
_JUST_THE_TICKET = (lazyload(Ticket.office), lazyload(Ticket.assignee), lazyload(Ticket.priority))
_BY_REF = select(Ticket).where(Ticket.ref == bindparam("ref")).options(*_JUST_THE_TICKET)
_IS_PARTICIPANT = exists().where(Participant.ticket_id == Message.ticket_id,
                                 Participant.address == bindparam("sender"))
_BY_EARLIER_MAIL = select(Ticket).options(*_JUST_THE_TICKET).join(Message, Message.ticket_id == Ticket.id).where(
    Message.message_id.in_(bindparam("ids", expanding=True)), Message.direction == Direction.inbound,
    or_(Message.from_address == bindparam("sender"), _IS_PARTICIPANT)).order_by(Message.id.desc()).limit(1)


def _unmerged(session: Session, ticket: Ticket | None) -> Ticket | None:
    """A merged ticket's mail goes on to the ticket it was merged into."""
    seen = set()
    while ticket is not None and ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = session.get(Ticket, ticket.merged_into_id)
    return ticket


def may_write(session: Session, ticket: Ticket, address: str) -> bool:
    """The requester, the school's registered address, the ticket's
    participants and anyone who wrote on it before are on a ticket; nobody
    else is."""
    address = address.lower()
    if address == (ticket.requester_email or "").lower():
        return True
    if ticket.school is not None and address == (ticket.school.email or "").lower():
        return True
    return session.scalar(select(Message.id).where(
        Message.ticket_id == ticket.id, Message.direction == Direction.inbound,
        Message.from_address == address).limit(1)) is not None or is_participant(session, ticket.id, address)
