"""Opening tickets and adding customers' messages: one service for every channel
(SMTP, IMAP, the web form), so the rules hold whichever way a message comes in."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, case, inspect, literal_column, or_, select
from sqlalchemy.orm import Session, aliased, object_session

from core import audit
from core.access.tokens import hash_token, link_token, new_nonce
from core.config.policy import Policy
from core.config.settings import Settings
from core.mail import staff_notices
from core.models import (Attachment, Category, Contact, Direction, Message, Office, Participant, Priority, Status,
                         Ticket, utcnow)
from core.storage.db import Database
from core.storage.fast import insert_now, new, next_keys, select_plain, select_plain_many, set_loaded, update_now
from core.tickets import assignment, categories, lifecycle, rules, sla
from core.tickets.refs import new_ref


@dataclass(frozen=True)
class Incoming:
    """A customer's message as every channel hands it to core."""
    from_address: str
    subject: str
    text: str                 # for display: quoted history and signature stripped
    full_text: str = ""       # as written
    html: str | None = None   # sanitised
    from_name: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    channel: str = "mail"
    auto_reply: bool = False
    raw_mail_id: int | None = None
    attachments: list[Attachment] = field(default_factory=list)
    # Cc of a mail: on a new ticket these become participants (core.tickets.participants).
    cc: tuple[str, ...] = ()


# Built once: every new ticket runs these. The rules (which office is a
# customer's, which priority is the default, which office takes unknown
# senders) are written once, for the objects here and the plain rows of
# find_home.
# An address is a school's when it is the school's registered address or one
# staff confirmed as its contact: one query, each side read through a unique
# index (the registered address first, should a directory import since have
# given a contact's address to an office).
_REGISTERED = Office.email == bindparam("email")
_CONFIRMED = Office.id == select(Contact.school_id).where(Contact.email == bindparam("email")).scalar_subquery()
_IS_CUSTOMER = (or_(_REGISTERED, _CONFIRMED), Office.kind == bindparam("kind"), Office.active.is_(True))
# Numbers written into the SQL: the plain reads (select_plain_many) pass only
# the values they are given.
_REGISTERED_FIRST = case((_REGISTERED, literal_column("0")), else_=literal_column("1"))
_DEFAULT_FIRST = (Priority.is_default.desc(), Priority.level)
_CUSTOMER_OFFICE = select(Office).where(*_IS_CUSTOMER).order_by(_REGISTERED_FIRST).limit(1)
_DEFAULT_PRIORITY = select(Priority).order_by(*_DEFAULT_FIRST).limit(1)
_OFFICE_BY_CODE = select(Office.id, Office.code).where(Office.code == bindparam("code"))
_ROOT_OFFICE = select(Office.id, Office.code).where(Office.parent_id.is_(None)).order_by(Office.id).limit(1)
_REF_TAKEN = select(Ticket.id).where(Ticket.ref == bindparam("ref"))


def customer_office(session: Session, email: str, policy: Policy) -> Office | None:
    """The school (or other customer office) registered with this address, or
    whose confirmed contact it is."""
    return session.scalar(_CUSTOMER_OFFICE, {"email": email.lower(), "kind": policy.customer_kind})


def triage_office(session: Session, policy: Policy) -> Office:
    """Where mail from unknown senders goes: the configured office, else the root."""
    found = _triage(lambda statement, params: session.execute(statement, params).all(), policy)
    if found is None:
        raise LookupError("the directory is empty: import it before taking mail")
    return session.get(Office, found[0])


def _triage(read, policy: Policy) -> tuple[int, str] | None:
    """(id, code) of triage_office, through `read(statement, params)`; None
    without a directory."""
    rows = read(_OFFICE_BY_CODE, {"code": policy.triage_office}) if policy.triage_office else []
    rows = rows or read(_ROOT_OFFICE, {})
    return tuple(rows[0]) if rows else None


def default_priority(session: Session) -> Priority | None:
    return session.scalar(_DEFAULT_PRIORITY)


class Terms(NamedTuple):
    """A priority's SLA, as sla.due_times reads it."""
    first_response_hours: int | None
    resolution_hours: int | None


class Home(NamedTuple):
    """Where a new ticket starts, as plain values: the customer office it is
    for (None: an unknown sender) and its language, the office that holds
    it, and its priority with that priority's SLA."""
    school_id: int | None
    language: str | None
    office_id: int
    office_code: str
    priority_id: int | None
    terms: Terms | Priority | None


def home_of(session: Session, policy: Policy, school: Office | None, office: Office | None = None,
            priority: Priority | None = None, category: Category | None = None) -> Home:
    """A school's ticket starts at its parent, so no tier is skipped; a
    category's default office only routes senders the directory does not know."""
    if office is None:
        office = school.parent if school is not None and school.parent is not None \
            else categories.default_office(category) or triage_office(session, policy)
    priority = priority or default_priority(session)
    return Home(school.id if school is not None else None, school.language if school is not None else None,
                office.id, office.code, priority.id if priority is not None else None, priority)


# Built once: mail ingest reads a sender's home for every mail (find_home).
# LIMIT and OFFSET written into the SQL, as SQLite's dialect gives a bound OFFSET otherwise.
_ONE, _ZERO = literal_column("1"), literal_column("0")
_Parent = aliased(Office)
_SCHOOL_HOME = select(Office.id, Office.language, _Parent.id, _Parent.code, _Parent.path).outerjoin(
    _Parent, _Parent.id == Office.parent_id).where(*_IS_CUSTOMER).order_by(_REGISTERED_FIRST).limit(_ONE).offset(_ZERO)
_DEFAULT_TERMS = select(Priority.id, Priority.first_response_hours, Priority.resolution_hours).order_by(
    *_DEFAULT_FIRST).limit(_ONE).offset(_ZERO)


def find_home(db: Database, address: str, policy: Policy) -> Home | None:
    """home_of() for a mail from this address, read as plain rows outside any
    transaction (Database.read_plain): the mail pipeline reads it before its
    write transaction, where loading the offices and the priority as objects
    took a sixth of the writer's time. A change made meanwhile applies from
    the next mail, as the policy's does."""
    rows = db.read_plain(_SCHOOL_HOME, {"email": address.lower(), "kind": policy.customer_kind})
    school_id, language, office_id, office_code, _path = rows[0] if rows else (None, None, None, None, None)
    if office_id is None:  # an unknown sender, or a school without a parent: triage
        triage = _triage(db.read_plain, policy)
        if triage is None:
            return None  # no directory yet: home_of says so, should a ticket be opened
        office_id, office_code = triage
    priority_id, terms = _default_terms(db.read_plain(_DEFAULT_TERMS))
    return Home(school_id, language, office_id, office_code, priority_id, terms)


def _default_terms(rows: list[tuple]) -> tuple[int | None, Terms | None]:
    """The default priority's id and SLA from _DEFAULT_TERMS's rows (none: no priorities)."""
    if not rows:
        return None, None
    priority_id, *hours = rows[0]
    return priority_id, Terms(*hours)


def home_on_behalf(session: Session, policy: Policy, address: str, holder: Office,
                   priority: Priority | None = None) -> tuple[Home, str | None]:
    """home_of for a ticket staff open for `address`: a school's (the address
    registered to it or confirmed for it) starts at the school's parent, an
    address the directory does not know at `holder` (the office of whoever
    opens it); with `priority`, else the default one. Also the path of that
    school's parent, for the caller to check its sight against: None for no
    school, "" for a school without a parent (whose home is then no office).
    The school and the default priority are read as plain rows together:
    one round trip on PostgreSQL, where loading them as objects took two."""
    reads = [(_SCHOOL_HOME, {"email": address.lower(), "kind": policy.customer_kind})]
    if priority is None:
        reads.append((_DEFAULT_TERMS, {}))
    school, *default = select_plain_many(session.connection(), reads)
    priority_id, terms = (priority.id, priority) if priority is not None else _default_terms(default[0])
    if not school:
        return Home(None, None, holder.id, holder.code, priority_id, terms), None
    school_id, language, parent_id, parent_code, parent_path = school[0]
    return Home(school_id, language, parent_id, parent_code, priority_id, terms), parent_path or ""


def issue_link(settings: Settings, ticket: Ticket, now: datetime | None = None) -> str:
    """Give the (flushed) ticket a new private link, revoking any old one; return the token."""
    token, values = _new_link(settings, ticket.id, now or utcnow())
    # A plain UPDATE: the ticket was just written when it is new, and the unit
    # of work would write it again. updated_at as the column's onupdate stamps
    # it, so the object shows it too.
    update_now(object_session(ticket), ticket, updated_at=utcnow(), **values)
    return token


def _new_link(settings: Settings, ticket_id: int, now: datetime) -> tuple[str, dict]:
    """A new private link of this ticket: the token, and the ticket's columns that keep it."""
    nonce = new_nonce()
    token = link_token(settings.secret_key, ticket_id, nonce)
    return token, {"token_nonce": nonce, "token_issued_at": now, "token_hash": hash_token(token)}


def link_of(settings: Settings, ticket: Ticket) -> str:
    """The customer's private link as it goes into mail."""
    token = link_token(settings.secret_key, ticket.id, ticket.token_nonce)
    return f"{settings.base_url}/t/{token}"


def find_by_token(session: Session, token: str, policy: Policy, now: datetime | None = None) -> Ticket | None:
    opened = open_by_token(session, token, policy, now)
    return opened[0] if opened is not None else None


def open_by_token(session: Session, token: str, policy: Policy,
                  now: datetime | None = None) -> tuple[Ticket, str | None] | None:
    """The ticket a private link opens, and whose link it is: None for the
    requester's, else the participant's address (core.mail.copies). None for
    a wrong, revoked or expired link."""
    if not token or len(token) > 100:
        return None
    digest = hash_token(token)
    ticket = session.scalar(select(Ticket).where(Ticket.token_hash == digest))
    if ticket is not None:
        opened, issued_at = (ticket, None), ticket.token_issued_at
    else:
        row = session.execute(select(Ticket, Participant.address, Participant.token_issued_at)
                              .join(Participant, Participant.ticket_id == Ticket.id)
                              .where(Participant.token_hash == digest)).one_or_none()
        if row is None:
            return None
        opened, issued_at = (row[0], row[1]), row[2]
    if policy.token_days and issued_at < (now or utcnow()) - timedelta(days=policy.token_days):
        return None
    return opened


def _unused_ref(session: Session) -> tuple[str, tuple[int, int] | None]:
    """A reference no ticket has, and on PostgreSQL the keys of the new
    ticket and its message, asked in the same round trip: their INSERTs then
    go with the next statement instead of each waiting for its key."""
    connection = session.connection()
    keys = next_keys(connection, Ticket, Message)
    while True:
        ref = new_ref()
        if keys is None:
            if not select_plain(connection, _REF_TAKEN, {"ref": ref}):
                return ref, None
            continue
        taken, ((ticket_id, message_id),) = select_plain_many(connection, [(_REF_TAKEN, {"ref": ref}), (keys, {})])
        if not taken:
            return ref, (ticket_id, message_id)


def open_ticket(session: Session, settings: Settings, policy: Policy, mail: Incoming, *,
                school: Office | None = None, office: Office | None = None,
                priority: Priority | None = None, continues: Ticket | None = None,
                category: Category | None = None, now: datetime | None = None) -> Ticket:
    """A new ticket held by the school's parent office (or triage), with its first message,
    given at once to an agent of that office by the assignment rules (who is
    told; with no agent available, the office's supervisors are).

    A category's default office only routes senders the directory does not
    know: a school's ticket always starts at its parent, so no tier is skipped.
    """
    return open_ticket_with_message(session, settings, policy, mail, school=school, office=office,
                                    priority=priority, continues=continues, category=category, now=now)[0]


def open_ticket_with_message(session: Session, settings: Settings, policy: Policy, mail: Incoming, *,
                             school: Office | None = None, office: Office | None = None,
                             priority: Priority | None = None, continues: Ticket | None = None,
                             category: Category | None = None, home: Home | None = None,
                             now: datetime | None = None) -> tuple[Ticket, Message]:
    """open_ticket, and the first message, which the caller's notices need:
    reading it back through `ticket.messages` would cost a query and a flush.
    `home`: where it starts, if the caller read it already (find_home);
    otherwise it is worked out from the offices given (home_of).

    The ticket and its message are written at once by plain INSERTs (the
    link and the audit event need the ticket's id; see core.storage.fast).
    """
    now = now or utcnow()
    home = home or home_of(session, policy, school, office, priority, category)
    triaged = _triage_rules(session, policy, mail, home, category, chosen_priority=priority)
    home = triaged.home
    ref, keys = _unused_ref(session)
    first_response_due_at, resolution_due_at = sla.due_times(home.terms, now, policy)
    # With its key reserved (PostgreSQL), the ticket is written with its
    # private link: an UPDATE after the INSERT would write a second version of
    # the row and of every one of its indexes.
    link = _new_link(settings, keys[0], now)[1] if keys else {}
    ticket = new(
        Ticket, id=keys and keys[0], ref=ref, subject=(mail.subject or "").strip()[:255] or "(no subject)",
        status=Status.open, office_id=home.office_id, school_id=home.school_id, priority_id=home.priority_id,
        **({"category": category} if category is not None else {"category_id": triaged.category_id}),
        requester_email=mail.from_address.lower(), requester_name=mail.from_name,
        language=home.language or policy.default_language,
        continues_id=continues.id if continues is not None else None,
        created_at=now, updated_at=now, status_changed_at=now, last_customer_at=now,
        first_response_due_at=first_response_due_at, resolution_due_at=resolution_due_at, **link,
    )
    message = add_message(session, ticket, mail, now=now, key=keys and keys[1])
    if not link:
        issue_link(settings, ticket, now)
    audit.record(session, ticket, "created", audit.CUSTOMER, to_value=home.office_code, at=now,
                 detail=f"via {mail.channel}" + (f", continues {continues.ref}" if continues else ""))
    if triaged.rule_set:
        audit.record(session, ticket, "triaged", audit.SYSTEM, to_value=triaged.rule_set, at=now)
    person = assignment.assign_new(session, ticket, policy, now)
    # The notice answers the first message, as the acknowledgement does: no query for the thread.
    staff_notices.arrived(session, settings, policy, ticket, person, now=now,
                          thread=(message.message_id, message.message_id))
    return ticket, message


class Triaged(NamedTuple):
    home: Home
    category_id: int | None
    rule_set: str  # what the rules set, for the audit trail; empty: nothing


def _triage_rules(session: Session, policy: Policy, mail: Incoming, home: Home, category: Category | None, *,
                  chosen_priority: Priority | None) -> Triaged:
    """Apply the admins' triage rules (core.tickets.rules) to a new ticket: a
    category only if none was chosen, a priority only if none was given."""
    category_id = category.id if category is not None else None
    compiled = rules.rules_for(session, policy)
    if not compiled:
        return Triaged(home, category_id, "")
    decision = rules.decide(compiled, mail.subject or "", mail.text or "", home.school_id, category_id)
    done = []
    if category_id is None and decision.category_id is not None:
        category_id = decision.category_id
        done.append(f"category {categories.label(session.get(Category, category_id))}")
    if chosen_priority is None and decision.priority_id not in (None, home.priority_id):
        priority = session.get(Priority, decision.priority_id)
        home = home._replace(priority_id=priority.id, terms=priority)
        done.append(f"priority {priority.name}")
    return Triaged(home, category_id, ", ".join(done))


def add_message(session: Session, ticket: Ticket, mail: Incoming, *, now: datetime | None = None,
                key: int | None = None) -> Message:
    """The customer's message on the ticket, written now (with `key`, its
    id reserved by core.storage.fast.next_keys, it goes with the next statement)."""
    # A ticket in the database whose messages are not loaded is not told of
    # the new one (they load with it when read): it is left unchanged, so
    # nothing is left for a flush to work out.
    on_ticket = {"ticket": ticket} if _holds_messages(ticket) else {"ticket_id": ticket.id}
    message = new(
        Message, id=key, **on_ticket, direction=Direction.inbound, from_address=mail.from_address.lower(),
        from_name=mail.from_name, message_id=mail.message_id, in_reply_to=mail.in_reply_to,
        subject=(mail.subject or "")[:255], text=mail.text, full_text=mail.full_text or mail.text,
        html=mail.html, auto_reply=mail.auto_reply, channel=mail.channel,
        raw_mail_id=mail.raw_mail_id, created_at=now or utcnow(), attachments=list(mail.attachments),
    )
    insert_now(session, message)  # with the ticket first, if it is new
    if "ticket" not in on_ticket:
        set_loaded(message, ticket=ticket)
    return message


def _holds_messages(ticket: Ticket) -> bool:
    """A new ticket, or one whose messages were loaded."""
    state = inspect(ticket)
    return state.key is None or "messages" in state.dict


def within_reopen_window(ticket: Ticket, policy: Policy, now: datetime) -> bool:
    return ticket.closed_at is None or now - ticket.closed_at <= timedelta(days=policy.reopen_days)


def add_customer_message(session: Session, settings: Settings, policy: Policy, ticket: Ticket,
                         mail: Incoming, *, now: datetime | None = None) -> Ticket:
    """Put a customer's message on their ticket, reopening it where the rules say.

    A closed ticket past its reopen window is not reopened: the message opens a
    new ticket that continues it. An automatic reply is kept but moves nothing.
    Returns the ticket the message landed on.
    """
    return place_customer_message(session, settings, policy, ticket, mail, now=now)[0]


def place_customer_message(session: Session, settings: Settings, policy: Policy, ticket: Ticket,
                           mail: Incoming, *, now: datetime | None = None) -> tuple[Ticket, Message]:
    """add_customer_message, and the message itself (see open_ticket_with_message)."""
    now = now or utcnow()
    if ticket.status is Status.closed and not within_reopen_window(ticket, policy, now) and not mail.auto_reply:
        return open_ticket_with_message(session, settings, policy, mail, school=ticket.school, office=None,
                                        continues=ticket, now=now)
    message = add_message(session, ticket, mail, now=now)
    if mail.auto_reply:
        update_now(session, ticket, updated_at=now)
        return ticket, message
    update_now(session, ticket, updated_at=now, last_customer_at=now)
    if ticket.status in lifecycle.REOPENED_BY_CUSTOMER:
        lifecycle.move(session, ticket, Status.open, audit.CUSTOMER, now=now,
                       detail=f"customer wrote via {mail.channel}", policy=policy)
    return ticket, message
