"""An outbox row rendered to the MIME message that goes on the wire.

Templates live in templates/mail/<name>/<language>/{subject.txt, body.txt,
body.html}; a file of the same path under the data dir's templates/mail/
overrides the shipped one, so admins change wording without code. The row
only names a template and holds a JSON context: the ticket is re-read here,
so the mail says what is true when it leaves, and the outbox never stores a
working private link.
"""
from __future__ import annotations

import json
import quopri
import secrets
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Attachment, Direction, Message, Outbox, Ticket, utcnow
from core.refs import tag
from core.settings import Settings
from core.store import Store
from core.tickets import link_of

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "mail"
FALLBACK_LANGUAGE = "id"
# The From display name, so a school sees who writes and not a bare address.
DISPLAY_NAMES = {"id": "Layanan Bantuan Helpdesk", "en": "Helpdesk"}


class MissingTemplate(LookupError):
    """No template of that name in any language: a programming or admin error."""


@lru_cache(maxsize=8)
def environment(site_dir: str) -> Environment:
    """Jinja for mail: the site's copies first, then the shipped ones; HTML autoescaped.

    auto_reload (Jinja's default) re-reads a file whose mtime changed, so an
    admin's edit applies to the next mail without a restart.
    """
    loader = ChoiceLoader([FileSystemLoader(site_dir), FileSystemLoader(str(SHIPPED))])
    return Environment(loader=loader, autoescape=select_autoescape(["html"], default=False),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def _pick_language(env: Environment, name: str, wanted: str) -> str:
    for language in dict.fromkeys((wanted, FALLBACK_LANGUAGE, "en")):
        try:
            env.get_template(f"{name}/{language}/body.txt")
            return language
        except TemplateNotFound:
            continue
    raise MissingTemplate(name)


def render_parts(settings: Settings, name: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of a template in the language, or the fallback."""
    env = environment(str(settings.path("templates", "mail")))
    language = _pick_language(env, name, language)
    context = {**context, "language": language}
    subject = env.get_template(f"{name}/{language}/subject.txt").render(context)
    text = env.get_template(f"{name}/{language}/body.txt").render(context)
    html = env.get_template(f"{name}/{language}/body.html").render(context)
    return " ".join(subject.split()), text, html


def context_of(settings: Settings, row: Outbox, ticket: Ticket | None) -> dict:
    context = json.loads(row.context or "{}")
    context.update(helpdesk=settings.address, base_url=settings.base_url)
    if ticket is not None:
        context.update(ticket=ticket, ref=ticket.ref, subject=context.get("subject") or ticket.subject,
                       staff_link=f"{settings.base_url}/staff/tickets/{ticket.ref}")
        # Every mail to the customer carries their private link, derived from
        # the key now (a link reissued since enqueue is the one that works).
        if row.to_address == ticket.requester_email.lower() and ticket.token_nonce:
            context["link"] = link_of(settings, ticket)
    return context


def thread_headers(session: Session, row: Outbox, ticket: Ticket | None) -> tuple[str | None, str | None]:
    """In-Reply-To and References: as fixed at enqueue, else the customer's latest message."""
    if row.in_reply_to or ticket is None:
        return row.in_reply_to, row.references or row.in_reply_to
    ids = list(session.scalars(select(Message.message_id).where(
        Message.ticket_id == ticket.id, Message.message_id.is_not(None)).order_by(Message.id)))
    latest_in = session.scalar(select(Message.message_id).where(
        Message.ticket_id == ticket.id, Message.direction == Direction.inbound, Message.message_id.is_not(None),
        ).order_by(Message.id.desc()).limit(1))
    if latest_in is None:
        return None, None
    chain = [mid for mid in ids if mid != latest_in][-9:] + [latest_in]
    return latest_in, " ".join(chain)


def attachments_of(session: Session, context: dict) -> list[Attachment]:
    """A staff reply's kept files (refused ones never leave)."""
    message_id = context.get("message_id")
    if not isinstance(message_id, int):
        return []
    return list(session.scalars(select(Attachment).where(
        Attachment.message_id == message_id, Attachment.refused_reason.is_(None)).order_by(Attachment.id)))


def render(session: Session, settings: Settings, row: Outbox, now: datetime | None = None) -> EmailMessage:
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    context = context_of(settings, row, ticket)
    subject, text, html = render_parts(settings, row.template, row.language, context)
    if ticket is not None and ticket.ref not in subject:
        subject = f"{tag(ticket.ref)} {subject}"
    mail = EmailMessage(policy=SMTP)
    display = DISPLAY_NAMES.get(row.language, DISPLAY_NAMES[FALLBACK_LANGUAGE])
    in_reply_to, references = thread_headers(session, row, ticket)
    headers = [("From", formataddr((display, settings.address))), ("Reply-To", formataddr((display, settings.address))),
               ("To", row.to_address), ("Subject", subject), ("Date", format_datetime(now or utcnow())),
               ("Message-ID", row.message_id), ("In-Reply-To", in_reply_to), ("References", references)]
    if row.automatic:
        # RFC 3834: tells autoresponders not to answer; the Microsoft header
        # does the same for Exchange's out-of-office.
        headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    for name, value in headers:
        if value:
            _put(mail, name, value)
    _put_bodies(mail, text, html)
    _attach(mail, settings, attachments_of(session, context))
    return mail


def _put_bodies(mail: EmailMessage, text: str, html: str) -> None:
    """multipart/alternative of the text and HTML, built by hand: set_content
    runs every part header through the registry, which costs more than
    sending. The result is the same MIME, UTF-8, quoted-printable."""
    mail.set_raw("MIME-Version", "1.0")
    # Content-Type is read several times while the message is written out:
    # parsed once here, it is not parsed again each time.
    mail["Content-Type"] = f'multipart/alternative; boundary="{_boundary()}"'
    mail.set_payload([_text_part(text, "plain"), _text_part(html, "html")])


def _boundary() -> str:
    return f"=_hd_{secrets.token_hex(12)}"


def _text_part(body: str, subtype: str) -> EmailMessage:
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(quopri.encodestring(body.encode("utf-8")).decode("ascii"))
    return part


def _put(mail: EmailMessage, name: str, value: str) -> None:
    # The header registry parses every value it is given, which costs more
    # than sending the message; a short ASCII value we made needs no parsing
    # or encoding and is stored as is. Anything else (a non-ASCII subject or
    # name, a long References) goes through the registry to be encoded and folded.
    if value.isascii() and "\n" not in value and "\r" not in value and len(name) + len(value) < 76:
        mail.set_raw(name, value)
    else:
        mail[name] = value


def _attach(mail: EmailMessage, settings: Settings, attachments: list[Attachment]) -> None:
    store = Store(settings.path("store"))
    for item in attachments:
        maintype, _, subtype = (item.content_type or "application/octet-stream").partition("/")
        mail.add_attachment(store.get(item.sha256), maintype=maintype, subtype=subtype or "octet-stream",
                            filename=item.filename)
