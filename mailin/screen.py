"""Step 4, screen: what a message is before anyone threads it. Duplicates
stop here; loops from our own address stop here; automatic replies and
bounces are named so the later steps treat them as such."""
from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.models import Outcome, RawMail
from core.msgids import ref_from_message_id
from core.settings import Settings
from mailin.dsn import is_daemon
from mailin.inbound import Duplicate, FromOurselves, InboundMail

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
        raise FromOurselves("from our own address")
    if mail.message_id and ref_from_message_id(mail.message_id, settings.secret_key, settings.domain):
        raise FromOurselves("carries one of our own Message-IDs")
    return mail


def check_duplicate(session: Session, raw_mail_id: int, sha256: str, mail: InboundMail) -> InboundMail:
    """The same message delivered twice (to two aliases, or retried by the
    sender) is kept once. Without a Message-ID only identical bytes count."""
    if mail.message_id:
        _serialise(session, mail.message_id)
        same = RawMail.message_id == mail.message_id
    else:
        _serialise(session, sha256)
        same = RawMail.sha256 == sha256
    earlier = session.scalar(select(RawMail).where(
        same, RawMail.id != raw_mail_id, RawMail.outcome.in_(INGESTED)).order_by(RawMail.id).limit(1))
    if earlier is not None:
        raise Duplicate(f"already ingested as raw mail {earlier.id}", ticket_id=earlier.ticket_id)
    return mail


def _serialise(session: Session, key: str) -> None:
    """Two copies arriving at the same moment must not both pass the check.
    SQLite writers already queue (BEGIN IMMEDIATE); PostgreSQL takes a
    transaction lock on the key."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def auto_reply_reason(mail: InboundMail) -> str | None:
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


def wants_no_auto_reply(mail: InboundMail) -> bool:
    """The sender asked not to be auto-answered (X-Auto-Response-Suppress):
    such mail is still a ticket, but gets no acknowledgement."""
    values = {v.strip().lower() for v in mail.header("x-auto-response-suppress").split(",")}
    return bool(values & _SUPPRESS_ALL)
