"""Step 4, screen: what a message is before anyone threads it. Duplicates
stop here; loops from our own address stop here; automatic replies and
bounces are named so the later steps treat them as such."""
from __future__ import annotations

from sqlalchemy import Row, bindparam, or_, select, text
from sqlalchemy.orm import Session

from core.config.settings import Settings
from core.mail.msgids import ref_from_message_id
from core.models import Outcome, RawMail
from core.storage.fast import select_plain
from core.words import N_
from mailin.dsn import is_daemon
from mailin.inbound import Duplicate, FromOurselves, InboundMail, MailHeader

# A message has been ingested once its RawMail has one of these outcomes. An
# attempt that failed half-way has none (its transaction rolled back), and a
# quarantined one is waiting to be looked at, so neither makes a retry a
# duplicate.
INGESTED = (Outcome.new_ticket, Outcome.appended, Outcome.auto_reply, Outcome.bounce)
_BULK = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_ALL = frozenset({"all", "oof", "autoreply"})


def check_loop(mail: InboundMail, settings: Settings) -> InboundMail:
    """Mail from our own address, or carrying one of our Message-IDs as its
    own, is our mail come back: processing it could start a mail loop."""
    if mail.from_address in settings.own_addresses:
        raise FromOurselves(N_("from our own address"))
    if mail.message_id and ref_from_message_id(mail.message_id, settings.secret_key, settings.domain):
        raise FromOurselves(N_("carries one of our own Message-IDs"))
    return mail


def check_duplicate(session: Session, raw_mail_id: int, sha256: str, mail: MailHeader,
                    sniffed_id: str | None = None) -> list[Row]:
    """The same message delivered twice (to two aliases, or retried by the
    sender) is kept once: Duplicate is raised for a copy of one ingested
    already. Without a Message-ID only identical bytes count. Returns every
    delivery of this message (this one included), for the pipeline to close
    the ones a temporary failure cut short. `sniffed_id` is the Message-ID
    as read before parsing, which may differ from the parsed one."""
    serialise(session, mail, sha256)
    rows = deliveries(session, raw_mail_id, sha256, {mail.message_id, sniffed_id})
    refuse_duplicate(raw_mail_id, sha256, mail, rows)
    return rows


def serialise(session: Session, mail: MailHeader, sha256: str) -> None:
    """Two copies arriving at the same moment must not both pass the check:
    the lock is on what makes a copy a copy."""
    _serialise(session, mail.message_id or sha256)


def deliveries(session: Session, raw_mail_id: int, sha256: str, message_ids) -> list[Row]:
    """This delivery's RawMail and every other delivery of the same bytes or
    of one of these Message-IDs (two at most: the parsed one and the one read
    before parsing), in one query, oldest first."""
    first, second = (sorted({mid for mid in message_ids if mid}) + [None, None])[:2]
    return select_plain(session.connection(), _DELIVERIES, {"raw_id": raw_mail_id, "sha256": sha256,
                                                            "first_id": first, "second_id": second})


_RAW = RawMail.__table__
DELIVERY_COLUMNS = (_RAW.c.id, _RAW.c.sha256, _RAW.c.message_id, _RAW.c.outcome, _RAW.c.ticket_id)
# Built once, as every mail runs it. Two plain parameters, not an expanding
# list, whose statement is finished anew at every run (a NULL matches none).
_DELIVERIES = select(*DELIVERY_COLUMNS).where(or_(
    _RAW.c.id == bindparam("raw_id"), _RAW.c.sha256 == bindparam("sha256"),
    _RAW.c.message_id.in_([bindparam("first_id"), bindparam("second_id")]))).order_by(_RAW.c.id)


def refuse_duplicate(raw_mail_id: int, sha256: str, mail: MailHeader, rows: list[Row]) -> None:
    """Raise Duplicate if one of these deliveries of the message was ingested."""
    for row in rows:
        same = row.message_id == mail.message_id if mail.message_id else row.sha256 == sha256
        if same and row.id != raw_mail_id and row.outcome in INGESTED:
            raise Duplicate(f"already ingested as raw mail {row.id}", ticket_id=row.ticket_id)


def _serialise(session: Session, key: str) -> None:
    """Two copies arriving at the same moment must not both pass the check.
    SQLite writers already queue (BEGIN IMMEDIATE); PostgreSQL takes a
    transaction lock on the key."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def auto_reply_reason(mail: MailHeader) -> str | None:
    """Why this mail was sent by a machine (RFC 3834 and common practice), or None."""
    submitted = mail.header("auto-submitted").lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if mail.header(name):
            return f"{name} header"
    precedence = mail.header("precedence").lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    if mail.header("list-id"):
        return "mailing list (List-Id)"
    if mail.header("return-path").strip() == "<>" or mail.envelope_from in ("", "<>"):
        return "empty return path"
    if is_daemon(mail.from_address):
        return "from a mailer daemon"
    return None


def wants_no_auto_reply(mail: MailHeader) -> bool:
    """The sender asked not to be auto-answered (X-Auto-Response-Suppress):
    such mail is still a ticket, but gets no acknowledgement."""
    values = {v.strip().lower() for v in mail.header("x-auto-response-suppress").split(",")}
    return bool(values & _SUPPRESS_ALL)
