"""The inbound pipeline: the one place that runs the steps, in their order.

Every channel (SMTP, IMAP, a file) calls `ingest` with raw bytes and the
envelope. The steps, as they run (DESIGN.md's order, except that cleaning
comes before threading: it needs no database, so it runs before the write
lock is taken, and the write transaction stays short):

    1 receive   the channel hands over bytes and envelope
    2 record    store: the bytes' digest and what their RawMail row will say
    3 parse     prepare: mail-parser into an InboundMail (mailin.parse)
    4 screen    prepare: loops from ourselves (mailin.screen.check_loop)
                prepare: sender authentication, SPF/DKIM/DMARC (mailin.authenticate): a
                         DNS timeout keeps the mail to check again, a spoofed one is quarantined
    6 clean     prepare: quotes cut, HTML sanitised, attachments checked (mailin.clean)
                prepare: where a new ticket of the sender's would start (core.tickets.intake.find_home)
    -- one write transaction (the writer: this process, or mailin.writer's) --
    2 record    the RawMail row (hash, size, envelope, time) and the bytes beside it
                (core.storage.spool: a periodic task moves them into the content store)
    4 screen    duplicates and interrupted deliveries; bounces tied to our mail; auto-replies
    5 thread    the ticket it answers, if any (mailin.threads); a registered school's
                address that failed authentication enters none (quarantined, linked)
    7 route     the ticket, message, attachments, audit and outbox rows (core.tickets.arrival);
                the acknowledgement only where core.mail.trust.may_auto_reply allows it
      settle    the RawMail row's outcome
    --
    8 answer    the channel answers 250 (or flags the IMAP message) after the commit

`prepare` runs the steps before the transaction, `run_steps` those inside
it, each as one call in this order; the rest of this module is plumbing
(which writer, which transaction, how a stop is settled).

The bytes are recorded with the row, not before parsing: nothing of a
message is ours until that commit, and the sender keeps it until the 250.
A message that stops the process while it is parsed has no row and no
answer, and comes again, as one whose bytes were never written would; one
that fails to parse is quarantined with its bytes, committed together.

A step that stops a message raises an IngestStop,
recorded as its outcome. A temporary database failure raises
TemporaryFailure (the sender retries); any other error quarantines the
message, which `reprocess` can take again later.
"""
from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from typing import Callable, NamedTuple, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy import Connection, Row, bindparam, insert, update
from sqlalchemy.orm import Session

from core.config.policy import Policy, read_policy
from core.mail import trust
from core.mail.auth import Client, Verdict, verdict_from_json
from core.mail.notices import mark_bounced
from core.models import Outcome, RawMail, Ticket, utcnow
from core.storage.db import Database, is_transient
from core.storage.fast import forget, savepoint, write_plain
from core.storage.files import Store
from core.storage.spool import raw_bytes, spool
from core.storage.writelock import WriteLockTimeout, writing
from core.tickets.arrival import route
from core.tickets.intake import Home, Incoming, find_home
from core.words import N_
from mailin import screen as screening
from mailin.authenticate import AuthStop, authenticate, claimed_ticket
from mailin.clean import Cleaned, clean
from mailin.inbound import (
    AlreadyProcessed, DeliveryReport, IngestResult, IngestStop, MailHeader, Spam, TemporaryFailure, Unthreaded,
)
from mailin.parse import message_id_in, parse
from mailin.spam import SpamVerdict
from mailin.threads import thread

log = logging.getLogger("helpdesk.mailin")
_ENVELOPE_MAX = 254
# The empty return path of bounces and auto-replies (MAIL FROM:<>), as logged.
NULL_SENDER = "<>"
# The end of the header, whichever line ends the sender used.
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def ingest(db: Database, raw: bytes, envelope_from: str | None, envelope_to: list[str] | tuple[str, ...] = (),
           channel: str = "smtp", writer: Writer | None = None, spam: SpamVerdict | None = None,
           client: Client | None = None) -> IngestResult:
    """Record and process one message. Raises TemporaryFailure when the
    message could not be taken now; otherwise it is safely ours. `writer`
    makes the database writes (default: this process, see LocalWriter).
    `spam`: rspamd's verdict at the SMTP dialogue, recorded with the row; one
    that asks for a human quarantines the message. `client`: the SMTP
    client's IP and HELO, which SPF is checked for."""
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        envelope_from = NULL_SENDER
    arrival = store(raw, envelope_from, envelope_to, channel, spam)
    writer = writer or LocalWriter(db)
    if spam is not None and spam.quarantines:
        prepared = Spam(spam.reason)
    else:
        prepared = prepare(db, raw, envelope_from, client)
        verdict = verdict_of(prepared)
        if verdict is not None:
            arrival.row["auth"] = verdict.as_json()
    return decide(prepared, lambda decided: writer.take(arrival, decided))


def reprocess(db: Database, raw_mail_id: int) -> IngestResult:
    """Run a quarantined (or interrupted) message through the pipeline again.
    rspamd is not asked again: staff releasing a mail from the spam quarantine
    have judged it, so it goes through. Likewise a failed sender
    authentication, once an admin released the mail despite it."""
    with db.begin() as session:
        raw_mail = session.get(RawMail, raw_mail_id)
        if raw_mail is None:
            raise LookupError(f"no raw mail {raw_mail_id}")
        if raw_mail.outcome not in (None, Outcome.quarantined):
            # Taking it again would add its message a second time.
            raise AlreadyProcessed(f"raw mail {raw_mail_id} was processed already ({raw_mail.outcome})")
        recorded = Recorded(raw_mail.id, raw_mail.sha256, raw_mail.message_id)
        envelope_from = raw_mail.envelope_from
        client = client_of(verdict_from_json(raw_mail.auth))
        waived = raw_mail.auth_waived_by_id is not None
        raw = raw_bytes(session, Store(db.settings.path("store")), raw_mail)
    if raw is None:
        raise LookupError(f"raw mail {raw_mail_id}: its bytes are neither spooled nor in the store")
    return process(db, recorded, raw, envelope_from, client, auth_waived=waived)


def client_of(verdict: Verdict | None) -> Client | None:
    """The SMTP client a message was checked for, to check it again."""
    if verdict is None or verdict.ip is None:
        return None
    return Client(verdict.ip, verdict.helo)


class Recorded(NamedTuple):
    """A delivery's RawMail row as written: its id, and what the later steps
    know its bytes by, worked out once."""
    id: int
    sha256: str
    message_id: str | None  # as sniffed from the header, before any parsing


class Arrival(NamedTuple):
    """A delivery as it is recorded: the values of its RawMail row, and its
    bytes, written with the message's outcome (see Writer.take)."""
    row: dict
    sha256: str
    message_id: str | None
    content: bytes

    def recorded(self, raw_mail_id: int) -> Recorded:
        return Recorded(raw_mail_id, self.sha256, self.message_id)


def store(raw: bytes, envelope_from: str | None, envelope_to, channel: str,
          spam: SpamVerdict | None = None) -> Arrival:
    """Step 2, before parsing: what the message's RawMail row will say. The
    row and the bytes are written with its outcome (take_within)."""
    sha256, message_id = hashlib.sha256(raw).hexdigest(), sniff_message_id(raw)
    row = {"channel": channel[:8], "envelope_from": (envelope_from or "")[:_ENVELOPE_MAX] or None,
           "envelope_to": ", ".join(envelope_to) or None, "message_id": message_id,
           "sha256": sha256, "size": len(raw), "received_at": utcnow(),
           "spam_action": spam.action if spam else None, "spam_score": spam.score if spam else None}
    return Arrival(row, sha256, message_id, raw)


_RECORD = insert(RawMail.__table__)  # built once: every mail runs it


def sniff_message_id(raw: bytes) -> str | None:
    """The Message-ID read without a parser, normalised as parse() does: the
    log needs it even for mail no parser can read. Only the header is
    copied and scanned, however large the message."""
    head = _BLANK_LINE.split(raw, 1)[0].replace(b"\r\n", b"\n")
    unfolded = re.sub(rb"\n[ \t]+", b" ", head)
    found = re.search(rb"^message-id:(.*)$", unfolded, re.IGNORECASE | re.MULTILINE)
    return message_id_in(found.group(1).decode("utf-8", "replace")) if found else None


def process(db: Database, recorded: Recorded, raw: bytes, envelope_from: str | None,
            client: Client | None = None, *, auth_waived: bool = False) -> IngestResult:
    """Steps 3 to 7 for a message whose row is written (reprocess), in a
    transaction of their own; its authentication is checked again (and its
    verdict recorded, but not applied when `auth_waived`)."""
    prepared = prepare(db, raw, envelope_from, client, auth_waived=auth_waived)
    verdict = verdict_of(prepared)

    def within(session: Session, decided: Prepared | Stopped) -> IngestResult:
        if verdict is not None:
            session.execute(update(RawMail).where(RawMail.id == recorded.id).values(auth=verdict.as_json())
                            .execution_options(synchronize_session=False))
        return decide_within(session, db, recorded, decided)

    return decide(prepared, lambda decided: in_transaction(db, lambda session: within(session, decided)))


class Prepared(NamedTuple):
    """What the write steps need of a message: its attachments are in the store now."""
    mail: MailHeader  # the header: `cleaned` holds what is kept of the bodies and attachments
    policy: Policy
    cleaned: Cleaned | None  # None for a bounce only
    home: Home | None  # where a new ticket of the sender's starts; None for a bounce, or with no directory
    auth: Verdict | None = None  # the sender authentication verdict
    auth_waived: bool = False  # an admin released the mail despite a failed verdict


class Stopped(NamedTuple):
    """The outcome of a message a step stopped, as it is settled."""
    outcome: Outcome
    reason: str
    ticket_id: int | None = None
    recheck: bool = False  # check it again later (a DNS timeout): see settle_stopped


def prepare(db: Database, raw: bytes, envelope_from: str | None, client: Client | None = None, *,
            auth_waived: bool = False) -> Prepared | Exception:
    """Everything that needs no write: parsing, the loop check, sender
    authentication (its DNS lookups), reading the policy, cleaning. It runs
    before the writer takes the write lock, so the write transaction is
    short: on SQLite it is the one thing that cannot overlap. An error is
    returned, to be recorded as the message's outcome with its row."""
    try:
        mail = parse(raw, envelope_from)
        screening.check_loop(mail, db.settings)
        verdict = authenticate(db.settings, raw, mail, envelope_from, client, waived=auth_waived)
        # Read a moment before the transaction: a change made meanwhile
        # applies from the next mail, as if this one had come a moment sooner.
        policy = read_policy(db)
        if mail.report is not None:
            cleaned = home = None
        else:
            cleaned = clean(mail, Store(db.settings.path("store")), policy)
            home = find_home(db, mail.from_address, policy)
    except Exception as error:
        return error
    return Prepared(mail.header_only(), policy, cleaned, home, verdict, auth_waived)


def verdict_of(prepared: Prepared | Exception) -> Verdict | None:
    """The authentication verdict prepare reached, if it got that far."""
    if isinstance(prepared, Prepared):
        return prepared.auth
    return prepared.verdict if isinstance(prepared, AuthStop) else None


def decide(prepared: Prepared | Exception, write: Callable[[Prepared | Stopped], IngestResult]) -> IngestResult:
    """Have `write` decide the message: its steps 4 to 7, or the outcome of
    the step before them that stopped it (an error logged once its row is
    known)."""
    if not isinstance(prepared, Exception):
        return write(prepared)
    result = write(stop_outcome(prepared))
    log_stopped(result.raw_mail_id, prepared)
    return result


def take_within(session: Session, db: Database, arrival: Arrival, prepared: Prepared | Stopped, *,
                light: bool = False) -> IngestResult:
    """A new delivery in a transaction the caller commits: its RawMail row
    and its bytes, then decide_within."""
    connection = session.connection()
    recorded = arrival.recorded(record_row(connection, arrival.row))
    spool(connection, recorded.id, arrival.content)
    return decide_within(session, db, recorded, prepared, light=light)


def decide_within(session: Session, db: Database, recorded: Recorded, prepared: Prepared | Stopped, *,
                  light: bool = False) -> IngestResult:
    """A written row's steps 4 to 7 (apply_within), or the outcome a step
    before them settled, in a transaction the caller commits."""
    if isinstance(prepared, Stopped):
        return settle_stopped(session, recorded.id, *prepared)
    return apply_within(session, db, recorded, *prepared, light=light)


def in_transaction(db: Database, writes: Callable[[Session], IngestResult]) -> IngestResult:
    """`writes(session)` in a write transaction of its own; a database
    failure that may pass is a TemporaryFailure."""
    try:
        with writing(db), db.begin() as session:
            return writes(session)
    except WriteLockTimeout as error:
        raise TemporaryFailure(str(error)) from error
    except sa_exc.SQLAlchemyError as error:
        if is_transient(error):
            raise TemporaryFailure(str(error)) from error
        raise


def apply_within(session: Session, db: Database, recorded: Recorded, mail: MailHeader, policy: Policy,
                 cleaned: Cleaned | None, home: Home | None, auth: Verdict | None = None,
                 auth_waived: bool = False, *, light: bool = False) -> IngestResult:
    """Steps 4 to 7 inside a transaction the caller commits, perhaps along
    with other mails' (mailin.writer's batches): a savepoint takes back the
    writes of a mail a step stopped, and its outcome is settled in the same
    transaction. A temporary failure is raised: the caller's whole
    transaction is suspect.

    `light` takes a savepoint the session does not track
    (core.storage.fast.savepoint), which costs a fraction of the session's own. It takes back a mail an
    IngestStop stopped; any other error raises Redo, and the caller answers
    its batch again without `light`, where that error is settled as usual."""
    if not light:
        try:
            with session.begin_nested():
                return run_steps(session, db, recorded, mail, policy, cleaned, home, auth, auth_waived)
        except Exception as error:
            forget(session)  # see core.storage.fast.forget
            stop = stop_outcome(error)
            log_stopped(recorded.id, error)
        return settle_stopped(session, recorded.id, *stop)
    try:
        with savepoint(session, rolls_back=IngestStop):
            return run_steps(session, db, recorded, mail, policy, cleaned, home, auth, auth_waived)
    except IngestStop as error:
        stop = stop_outcome(error)
    except Exception as error:
        if is_transient(error):
            raise TemporaryFailure(str(error)) from error
        raise Redo(f"raw mail {recorded.id}: {type(error).__name__}") from error
    return settle_stopped(session, recorded.id, *stop)


class Redo(Exception):
    """apply_within(light=True) met an error that only the session's own
    savepoint takes back cleanly (a failed flush leaves the session unusable
    until it rolls back): the caller's transaction is to be rolled back and
    its mails applied again without `light`."""


def stop_outcome(error: Exception) -> Stopped:
    """What a message a step stopped is recorded as: the stop's own outcome,
    or quarantine for an error; a temporary failure is raised for the sender
    to retry."""
    if isinstance(error, IngestStop):
        return Stopped(error.outcome, error.reason, error.ticket_id, error.recheck)
    if isinstance(error, TemporaryFailure):
        raise error
    if is_transient(error):
        raise TemporaryFailure(str(error)) from error
    return Stopped(Outcome.quarantined,
                   (N_("error: %(kind)s: %(error)s") % {"kind": type(error).__name__, "error": error})[:1000])


def log_stopped(raw_mail_id: int, error: Exception) -> None:
    """An error that quarantined a message is a bug, or mail no step
    foresaw: logged with its traceback (an IngestStop is the mail's own doing)."""
    if not isinstance(error, IngestStop):
        log.error("raw mail %s quarantined", raw_mail_id, exc_info=error)


def run_steps(session: Session, db: Database, recorded: Recorded, mail: MailHeader, policy: Policy,
              cleaned: Cleaned | None, home: Home | None, auth: Verdict | None = None,
              auth_waived: bool = False) -> IngestResult:
    """Steps 4 to 7 in the write transaction; `cleaned` is None for a bounce only."""
    settings, now = db.settings, utcnow()
    screen_copies(session, recorded, mail)
    if mail.report is not None:
        return settle_bounce(session, recorded.id, mail.report, now)
    auto_reason = screening.auto_reply_reason(mail)
    found = thread(session, settings, mail)
    school_id = home.school_id if home is not None else None
    if not auth_waived:
        claimed_ticket(session, auth, mail.from_address, school_id, found.ticket)  # raises for a forged school
    if auto_reason and found.ticket is None:
        raise Unthreaded(auto_reason if found.linked is None else f"{auto_reason}; {found.reason}")
    incoming = Incoming(
        from_address=mail.from_address, from_name=mail.from_name, subject=mail.subject, text=cleaned.text,
        full_text=cleaned.full_text, html=cleaned.html, message_id=mail.message_id,
        in_reply_to=mail.in_reply_to, channel="mail", auto_reply=bool(auto_reason),
        raw_mail_id=recorded.id, attachments=list(cleaned.attachments), cc=mail.cc)
    # Known senders: registered schools (confirmed contacts and participants plug in here).
    answerable = trust.may_auto_reply(auth, known_sender=school_id is not None)
    routed = route(session, settings, policy, incoming, ticket=found.ticket, linked=found.linked,
                   acknowledge_new=not screening.wants_no_auto_reply(mail), home=home, now=now,
                   withhold_ack=None if answerable else trust.withheld_reason(auth))
    return settle(session, recorded.id, routed.outcome, auto_reason or found.reason, routed.ticket, now)


def screen_copies(session: Session, recorded: Recorded, mail: MailHeader) -> None:
    """Step 4's database part in one query: stop a duplicate, and close the
    earlier deliveries of this message that a temporary failure cut short."""
    rows = screening.check_duplicate(session, recorded.id, recorded.sha256, mail, recorded.message_id)
    this = next(row for row in rows if row.id == recorded.id)
    settle_interrupted(session, this, rows)


_RAW = RawMail.__table__
# Built once (every mail runs it): the raw mail's outcome, by a plain UPDATE.
_SETTLE = update(_RAW).where(_RAW.c.id == bindparam("raw_id")).values(
    outcome=bindparam("outcome"), reason=bindparam("reason"), processed_at=bindparam("at"),
    ticket_id=bindparam("ticket"))


def settle(session: Session, raw_mail_id: int, outcome: Outcome, reason: str | None, ticket: Ticket | None,
           now: datetime) -> IngestResult:
    write_plain(session.connection(), _SETTLE, {"raw_id": raw_mail_id, "outcome": outcome, "reason": reason,
                                                "at": now, "ticket": ticket.id if ticket is not None else None})
    return IngestResult(raw_mail_id, outcome, ticket.ref if ticket is not None else None, reason)


def settle_bounce(session: Session, raw_mail_id: int, report: DeliveryReport, now: datetime) -> IngestResult:
    """A bounce is tied to the mail of ours it reports, never made a ticket."""
    bounced = mark_bounced(session, report.original_message_id, report.reason, now=now)
    if bounced is None:
        return settle(session, raw_mail_id, Outcome.bounce, f"{report.reason}; no mail of ours named in it",
                      None, now)
    ticket = session.get(Ticket, bounced.ticket_id) if bounced.ticket_id else None
    return settle(session, raw_mail_id, Outcome.bounce, report.reason, ticket, now)


def settle_interrupted(session: Session, this: Row, deliveries: list[Row]) -> None:
    """Earlier deliveries of this message that a temporary failure cut short
    have no outcome; this delivery is the one that counts. (A relay may add
    trace headers on its retry, so the Message-ID matches too.)"""
    interrupted = [row.id for row in deliveries if row.id < this.id and row.outcome is None and (
        row.sha256 == this.sha256 or (this.message_id and row.message_id == this.message_id))]
    if interrupted:
        session.execute(
            update(RawMail).where(RawMail.id.in_(interrupted))
            .values(outcome=Outcome.duplicate, processed_at=utcnow(),
                    reason=f"interrupted by a temporary failure; received again as raw mail {this.id}")
            .execution_options(synchronize_session=False))


def settle_stopped(session: Session, raw_mail_id: int, outcome: Outcome, reason: str,
                   ticket_id: int | None = None, recheck: bool = False) -> IngestResult:
    """A stopped message's outcome; `recheck`: the quarantine's re-process
    takes it again after RECHECK_AFTER (its authentication hit a DNS timeout)."""
    ticket = session.get(Ticket, ticket_id) if ticket_id else None
    now = utcnow()
    if recheck:
        session.execute(update(RawMail).where(RawMail.id == raw_mail_id)
                        .values(reprocess_requested_at=now + RECHECK_AFTER)
                        .execution_options(synchronize_session=False))
    return settle(session, raw_mail_id, outcome, reason, ticket, now)


# How long a mail whose authentication met a DNS timeout waits to be checked again.
RECHECK_AFTER = timedelta(minutes=5)


def record_row(connection: Connection, row: dict) -> int:
    """The RawMail row (a plain INSERT: the ORM's unit of work would cost more than the row)."""
    return write_plain(connection, _RECORD, row)[0]


class Writer(Protocol):
    """What makes the pipeline's database writes: LocalWriter in this
    process, or mailin.writer's client of one process that writes for all."""

    def take(self, arrival: Arrival, prepared: Prepared | Stopped) -> IngestResult:
        """Write a new delivery's row and decide it, in one transaction (see take_within)."""


class LocalWriter:
    """The pipeline's writes, made in this process under the write lock."""

    def __init__(self, db: Database):
        self.db = db

    def take(self, arrival: Arrival, prepared: Prepared | Stopped) -> IngestResult:
        return in_transaction(self.db, lambda session: take_within(session, self.db, arrival, prepared))
