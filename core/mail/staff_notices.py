"""Staff told of their work: a ticket assigned to them, a ticket that arrived
where no agent is available (paced per office: core.mail.pacing), a ticket
of their office past its SLA.

Each notice to a person is kept as a StaffNotice (the portal header counts
the unread ones) and mailed unless the person turned that kind off
(User.mail_off, set on their account page). An office with no supervisor
hears of an unstaffed ticket at its shared mailbox, if it has one.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from core import audit
from core.access.visibility import visible_tickets
from core.config.policy import Policy
from core.config.settings import Settings
from core.hooks import chat
from core.mail import notices, pacing
from core.models import Office, Outbox, Role, StaffNotice, Ticket, User, utcnow
from core.storage.fast import insert_now, new, select_plain, select_plain_many

ASSIGNED, UNSTAFFED, BREACH = "assigned", "unstaffed", "breach"
KINDS = (ASSIGNED, UNSTAFFED, BREACH)
# The mail template of the count of unstaffed tickets held back (a person's
# switch for it is UNSTAFFED's).
UNSTAFFED_SUMMARY = "unstaffed_summary"


def wants_mail(user: User | Person, kind: str) -> bool:
    return kind not in (user.mail_off or "").split()


def _keep(session: Session, user: User | Person, ticket: Ticket, kind: str, now: datetime) -> None:
    insert_now(session, new(StaffNotice, user_id=user.id, ticket_id=ticket.id, kind=kind, created_at=now))


def assigned(session: Session, settings: Settings, policy: Policy, ticket: Ticket, person: User, *,
             actor: User | None = None, now: datetime | None = None,
             thread: tuple[str | None, str | None] | None = None) -> Outbox | None:
    """The ticket is the person's now; nothing when they took it themselves."""
    if actor is not None and actor.id == person.id:
        return None
    now = now or utcnow()
    _keep(session, person, ticket, ASSIGNED, now)
    if not wants_mail(person, ASSIGNED):
        return None
    return notices.assigned(session, settings, policy, ticket, person, actor=actor, now=now, thread=thread)


def arrived(session: Session, settings: Settings, policy: Policy, ticket: Ticket, person: User | None, *,
            now: datetime | None = None, thread: tuple[str | None, str | None] | None = None) -> list[Outbox]:
    """A ticket came to its office (new, or forwarded) and the automatic rules
    gave it to `person`, or to nobody: then the office's supervisors hear of it."""
    if person is not None:
        row = assigned(session, settings, policy, ticket, person, now=now, thread=thread)
        return [row] if row is not None else []
    return unstaffed(session, settings, policy, ticket, now=now, thread=thread)


# Built once: every new ticket that finds no available agent runs it. The
# office and its active supervisors in one query, read straight through the
# driver (core.storage.fast.select_plain): a row per supervisor, or one row
# with no supervisor for an office without any. Two ORM queries, the users
# loaded as objects with their office and its parent joined, took a seventh
# of the mail writer's time for columns read only.
_OFFICE_AND_SUPERVISORS = select(
    Office.name, Office.email, Office.language, Office.slack_url, Office.teams_url,
    User.id.label("user_id"), User.email.label("user_email"), User.language.label("user_language"),
    User.mail_off.label("user_mail_off"),
).outerjoin(User, and_(User.office_id == Office.id, User.active.is_(True), User.role == bindparam("role"))).where(
    Office.id == bindparam("office_id")).order_by(User.id)
_SUPERVISORS = select(User.id, User.email, User.language, User.mail_off).where(
    User.office_id == bindparam("office_id"), User.active.is_(True), User.role == bindparam("role")).order_by(User.id)


class Person(NamedTuple):
    """What a notice needs of a member of staff: whom to tell, how, and what they turned off."""
    id: int
    email: str
    language: str | None
    mail_off: str | None


def supervisors(session: Session, office_id: int) -> list[Person]:
    rows = select_plain(session.connection(), _SUPERVISORS, {"office_id": office_id, "role": Role.supervisor})
    return [Person(*row) for row in rows]


def office_and_supervisors(session: Session, office_id: int, beside: tuple[Select, dict] | None = None
                           ) -> tuple[tuple, list[Person], list[tuple]]:
    """The office's name, mailbox, language and chat channels, and its active
    supervisors; and the rows of `beside`, a query sent with it (none: [])."""
    reads = [(_OFFICE_AND_SUPERVISORS, {"office_id": office_id, "role": Role.supervisor})]
    rows, *others = select_plain_many(session.connection(), reads + ([beside] if beside is not None else []))
    return rows[0], [Person(row.user_id, row.user_email, row.user_language, row.user_mail_off)
                     for row in rows if row.user_id is not None], others[0] if others else []


def unstaffed(session: Session, settings: Settings, policy: Policy, ticket: Ticket, *,
              now: datetime | None = None, thread: tuple[str | None, str | None] | None = None) -> list[Outbox]:
    """No available agent could take the ticket: tell the office's supervisors,
    or, with none, its shared mailbox; and its Slack and Teams channels. The
    portal keeps a notice per ticket; mail and chat are paced per office
    (core.mail.pacing: a ticket held back is counted in the next summary)."""
    now = now or utcnow()
    # The office, its supervisors and whether it was told lately: one round trip on PostgreSQL.
    told = pacing.told_query(policy, ticket.office_id, now)
    office, people, told_rows = office_and_supervisors(session, ticket.office_id, told)
    for person in people:
        _keep(session, person, ticket, UNSTAFFED, now)
    if pacing.was_told(told_rows):
        pacing.note_held(session, ticket.office_id, now)
        return []
    posted = chat.office_notice(session, settings, ticket, office, chat.UNSTAFFED,
                                language=office.language or policy.default_language, now=now)
    context = {"ref": ticket.ref, "subject": ticket.subject, "requester": ticket.requester_email,
               "office": office.name}
    rows = _tell_office(session, settings, policy, ticket, office, people, UNSTAFFED, context, now, thread)
    if posted or rows:
        pacing.note_told(session, policy, ticket.office_id, now)
    return rows


def _tell_office(session: Session, settings: Settings, policy: Policy, ticket: Ticket | None, office,
                 people: list[Person], template: str, context: dict, now: datetime,
                 thread: tuple[str | None, str | None] | None = None) -> list[Outbox]:
    """Mail the office's supervisors who take unstaffed notices by mail, or,
    with no supervisor, its shared mailbox if it has one."""
    if not people:
        if not office.email:
            return []
        return [notices.notify(session, settings, policy, ticket, template=template, to=office.email,
                               to_staff=True, language=office.language or policy.default_language,
                               context=context, now=now, thread=thread)]
    return [notices.notify(session, settings, policy, ticket, template=template, to=person.email, to_staff=True,
                           language=person.language or policy.default_language, context=context, now=now,
                           thread=thread)
            for person in people if wants_mail(person, UNSTAFFED)]


def unstaffed_summaries(session: Session, settings: Settings, policy: Policy, now: datetime) -> int:
    """What the sweep calls: each office whose unstaffed tickets were held
    back (core.mail.pacing) hears how many arrived, once its quiet time is
    over; returns how many offices were told."""
    due = pacing.due_summaries(session, policy, now)
    for office_id, held in due:
        office, people, _ = office_and_supervisors(session, office_id)
        language = office.language or policy.default_language
        chat.office_summary(session, settings, office, held, language=language, now=now)
        context = {"office": office.name, "count": held, "queue_link": f"{settings.base_url}/staff/?queue=unassigned"}
        _tell_office(session, settings, policy, None, office, people, UNSTAFFED_SUMMARY, context, now)
    return len(due)


def breached(session: Session, settings: Settings, policy: Policy, ticket: Ticket, clock: str, due: datetime, *,
             told: set[str], now: datetime | None = None) -> list[Outbox]:
    """The holding office's supervisors hear of a breach, besides whoever
    works the ticket (`told`: the addresses notices.sla_breached mailed);
    so do its Slack and Teams channels."""
    now = now or utcnow()
    office = ticket.office
    chat.office_notice(session, settings, ticket, office, chat.SLA_BREACHED, clock=clock,
                       language=office.language or policy.default_language, now=now)
    rows = []
    for person in supervisors(session, ticket.office_id):
        _keep(session, person, ticket, BREACH, now)
        if person.email.lower() in told or not wants_mail(person, BREACH):
            continue
        rows += notices.sla_notice_to(session, settings, policy, ticket, "sla_breached", clock, due,
                                      person.email, person.language or policy.default_language, now)
    return rows


# The header's count: one indexed read per page.
_UNREAD = select(func.count()).select_from(StaffNotice).where(
    StaffNotice.user_id == bindparam("user_id"), StaffNotice.read_at.is_(None))


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(_UNREAD, {"user_id": user_id}) or 0


def latest(session: Session, user: User, limit: int = 50) -> list[tuple[StaffNotice, Ticket | None]]:
    """The person's newest notices, each with its ticket if they may still
    see it (one forwarded out of their sight shows as None)."""
    return [tuple(row) for row in session.execute(
        select(StaffNotice, Ticket).outerjoin(Ticket, and_(Ticket.id == StaffNotice.ticket_id,
                                                         visible_tickets(user)))
        .where(StaffNotice.user_id == user.id).order_by(StaffNotice.id.desc()).limit(limit))]


def mark_read(session: Session, user_id: int, ticket_id: int | None = None, now: datetime | None = None) -> int:
    """The person saw the ticket (None: every notice); how many were unread."""
    where = [StaffNotice.user_id == user_id, StaffNotice.read_at.is_(None)]
    if ticket_id is not None:
        where.append(StaffNotice.ticket_id == ticket_id)
    return session.execute(update(StaffNotice).where(*where).values(read_at=now or utcnow())
                           .execution_options(synchronize_session=False)).rowcount


def mark_read_ref(session: Session, user_id: int, ref: str, now: datetime | None = None) -> int:
    """mark_read for the ticket of this reference (the person's own notices only)."""
    ticket_id = session.scalar(select(Ticket.id).where(Ticket.ref == ref.strip().upper()))
    return mark_read(session, user_id, ticket_id, now) if ticket_id is not None else 0


def set_mail(session: Session, user: User, on: set[str], now: datetime | None = None) -> None:
    """Which kinds of notice the person is mailed; the rest stay in the portal only."""
    off = " ".join(kind for kind in KINDS if kind not in on)
    if off == (user.mail_off or ""):
        return
    audit.record(session, None, "notice_mail", user, from_value=user.mail_off or "-", to_value=off or "-",
                 at=now or utcnow())
    user.mail_off = off
    session.flush()
