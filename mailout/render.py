"""An outbox row rendered to the MIME message that goes on the wire.

Templates live in templates/mail/<name>/<language>/{subject.txt, body.txt,
body.html}; a file of the same path under the data dir's templates/mail/
overrides the shipped one, so admins change wording without code. Every template
renders in Jinja's sandbox; a site copy that fails there (or in any other
way) is logged and the mail goes out in the shipped wording. The row
only names a template and holds a JSON context: the ticket is re-read here,
so the mail says what is true when it leaves, and the outbox never stores a
working private link.

The message is written as bytes directly: the headers we make are short
ASCII and need no parsing, the bodies are UTF-8 quoted-printable. Only what
needs it (a non-ASCII subject, attachments) goes through the email package,
whose header registry costs more per mail than sending it.
"""
from __future__ import annotations

import binascii
import json
import logging
import os
import random
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from functools import lru_cache
from pathlib import Path
from typing import Callable

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, Template, TemplateNotFound
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config.settings import Settings
from core.mail import copies
from core.mail.notices import thread_of
from core.mail.templates import sandbox
from core.models import Attachment, Outbox, Ticket, utcnow
from core.storage.files import Store
from core.tickets.intake import link_of
from core.tickets.refs import tag
from core.words import localize

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "mail"
FALLBACK_LANGUAGE = "id"
# The From display name, so a school sees who writes and not a bare address.
DISPLAY_NAMES = {"id": "Layanan Bantuan Helpdesk", "en": "Helpdesk"}
CRLF = "\r\n"
# A header line we write as is stays under this length (RFC 5322 asks for 78).
LINE = 76
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")
log = logging.getLogger(__name__)


class MissingTemplate(LookupError):
    """No template of that name in any language: a programming or admin error."""


@dataclass(frozen=True)
class OutgoingMail:
    """A rendered mail: its Message-ID (the outgoing folder names files by it)
    and the bytes as they go on the wire, CRLF line ends."""

    message_id: str
    data: bytes

    def as_bytes(self) -> bytes:
        return self.data


@lru_cache(maxsize=8)
def environment(site_dir: str) -> Environment:
    """Jinja for mail: the site's copies first, then the shipped ones, in the sandbox.

    Templates are not checked on disk per mail (auto_reload off: the checks
    cost a fifth of rendering); current_environment checks once per pass.
    """
    return sandbox(ChoiceLoader([FileSystemLoader(site_dir), FileSystemLoader(str(SHIPPED))]), auto_reload=False)


@lru_cache(maxsize=1)
def shipped_environment() -> Environment:
    """The shipped templates alone: what a mail falls back to when a site copy fails."""
    return sandbox(FileSystemLoader(str(SHIPPED)), auto_reload=False)


_stamps: dict[str, tuple] = {}


def current_environment(site_dir: str) -> Environment:
    """The environment, its compiled templates dropped if any template file was
    added, edited or removed since the last look: an admin's change applies
    from the next delivery pass, without a restart."""
    env = environment(site_dir)
    stamp = _stamp(site_dir, str(SHIPPED))
    if _stamps.get(site_dir) != stamp:
        env.cache.clear()
        _stamps[site_dir] = stamp
    return env


def _stamp(*folders: str) -> tuple:
    """Every file under the folders with its modification time and size."""
    found = []
    for folder in folders:
        for path, _, files in os.walk(folder):
            for name in files:
                try:
                    info = os.stat(os.path.join(path, name))
                except OSError:  # removed while we looked: the next look sees it gone
                    continue
                found.append((os.path.join(path, name), info.st_mtime_ns, info.st_size))
    return tuple(sorted(found))


@dataclass(frozen=True)
class MailTemplates:
    """The three templates of one mail in the language found for it."""

    language: str
    subject: Template
    text: Template
    html: Template

    def render(self, context: dict) -> tuple[str, str, str]:
        context = {**context, "language": self.language}
        if context.get("refused"):
            # Core keeps a refused file's reason in English; the mail gives it in the mail's language.
            context["refused"] = [[name, localize(reason, self.language)] for name, reason in context["refused"]]
        subject = self.subject.render(context)
        return " ".join(subject.split()), self.text.render(context), self.html.render(context)


def find_templates(env: Environment, name: str, wanted: str) -> MailTemplates:
    """The templates in the wanted language, else the fallback, else English."""
    for language in dict.fromkeys((wanted, FALLBACK_LANGUAGE, "en")):
        try:
            text = env.get_template(f"{name}/{language}/body.txt")
        except TemplateNotFound:
            continue
        return MailTemplates(language, env.get_template(f"{name}/{language}/subject.txt"), text,
                             env.get_template(f"{name}/{language}/body.html"))
    raise MissingTemplate(name)


def render_parts(settings: Settings, name: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of a template in the language, or the fallback."""
    site_dir = str(settings.path("templates", "mail"))
    env = current_environment(site_dir)
    return render_or_fall_back(lambda: find_templates(env, name, language), site_dir, name, language, context)


def render_or_fall_back(lookup: Callable[[], MailTemplates], site_dir: str, name: str, language: str,
                        context: dict) -> tuple[str, str, str]:
    """The mail in the templates `lookup` finds; when that fails and the site
    has copies of its own, the mail in the shipped wording, so an admin's
    broken copy (one that breaks the sandbox, say) never stops a mail. The
    admin page lists such copies (core.mail.templates.broken_templates)."""
    try:
        return lookup().render(context)
    except MissingTemplate:
        raise
    except Exception:  # whatever the site's copy does wrong; with no copy, the error is ours
        if not any(Path(site_dir).rglob("*.*")):
            raise
        log.exception("mail template %s/%s of the site failed; the shipped wording is sent", name, language)
        return find_templates(shipped_environment(), name, language).render(context)


def context_of(settings: Settings, row: Outbox, ticket: Ticket | None, session: Session | None = None) -> dict:
    context = json.loads(row.context or "{}")
    context.update(helpdesk=settings.address, base_url=settings.base_url)
    if ticket is not None:
        context.update(ticket=ticket, ref=ticket.ref, subject=context.get("subject") or ticket.subject,
                       staff_link=f"{settings.base_url}/staff/tickets/{ticket.ref}")
        # Every mail to the customer carries their private link, derived from
        # the key now (a link reissued since enqueue is the one that works);
        # a participant's copy carries the participant's own (core.mail.copies).
        if row.to_address == ticket.requester_email.lower() and ticket.token_nonce:
            context["link"] = link_of(settings, ticket)
        elif context.get(copies.COPY) and session is not None:
            context["link"] = copies.link_of(session, settings, ticket.id, row.to_address)
    return context


def thread_headers(session: Session, row: Outbox, ticket: Ticket | None) -> tuple[str | None, str | None]:
    """In-Reply-To and References: as fixed at enqueue, else worked out now
    the one way core.mail.notices.thread_of does (the customer's latest message)."""
    if row.in_reply_to or ticket is None:
        return row.in_reply_to, row.references or row.in_reply_to
    return thread_of(session, ticket)


def attachments_of(session: Session, context: dict) -> list[Attachment]:
    """A staff reply's kept files (refused ones never leave)."""
    message_id = context.get("message_id")
    if not isinstance(message_id, int):
        return []
    return list(session.scalars(select(Attachment).where(
        Attachment.message_id == message_id, Attachment.refused_reason.is_(None)).order_by(Attachment.id)))


class Renderer:
    """Renders the rows of one delivery pass. What every mail of the pass shares
    (the templates looked up per name and language, From and Reply-To, the
    Date) is worked out once, not per mail."""

    def __init__(self, settings: Settings, now: datetime | None = None):
        self.settings = settings
        self.site_dir = str(settings.path("templates", "mail"))
        self.env = current_environment(self.site_dir)
        self.date = format_datetime(now or utcnow())
        self._templates: dict[tuple[str, str], MailTemplates] = {}
        self._senders: dict[str, str] = {}

    def templates(self, name: str, language: str) -> MailTemplates:
        key = (name, language)
        if key not in self._templates:
            self._templates[key] = find_templates(self.env, name, language)
        return self._templates[key]

    def parts(self, name: str, language: str, context: dict) -> tuple[str, str, str]:
        """(subject, text, HTML) of the mail, in the shipped wording if the site's fails."""
        return render_or_fall_back(lambda: self.templates(name, language), self.site_dir, name, language, context)

    def sender_headers(self, language: str) -> str:
        """From and Reply-To: the helpdesk under the name of the mail's language."""
        if language not in self._senders:
            display = DISPLAY_NAMES.get(language, DISPLAY_NAMES[FALLBACK_LANGUAGE])
            sender = formataddr((display, self.settings.address))
            self._senders[language] = header("From", sender) + header("Reply-To", sender)
        return self._senders[language]

    def render(self, session: Session, row: Outbox, ticket: Ticket | None) -> OutgoingMail:
        """The row's mail; `session` is read only for what few rows need (thread
        headers not fixed at enqueue, a staff reply's files)."""
        context = context_of(self.settings, row, ticket, session)
        subject, text, html = self.parts(row.template, row.language, context)
        if ticket is not None and ticket.ref not in subject:
            subject = f"{tag(ticket.ref)} {subject}"
        in_reply_to, references = thread_headers(session, row, ticket)
        lines = [self.sender_headers(row.language), header("To", row.to_address)]
        if row.cc:
            lines.append(header("Cc", row.cc))
        lines += [header("Subject", subject), header("Date", self.date), header("Message-ID", row.message_id)]
        if in_reply_to:
            lines.append(header("In-Reply-To", in_reply_to))
        if references:
            lines.append(header("References", references))
        if row.automatic:
            # RFC 3834: tells autoresponders not to answer; the Microsoft header
            # does the same for Exchange's out-of-office.
            lines.append("Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n")
        lines.append("MIME-Version: 1.0\r\n")
        head = "".join(lines).encode("ascii")
        body = _alternative(text, html)
        files = attachments_of(session, context)
        if files:
            body = _mixed(body, _attachment_parts(self.settings, files))
        return OutgoingMail(row.message_id, head + body)


def render(session: Session, settings: Settings, row: Outbox, now: datetime | None = None) -> OutgoingMail:
    """One row's mail, its ticket read in `session`."""
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    return Renderer(settings, now).render(session, row, ticket)


def header(name: str, value: str) -> str:
    """One header field, CRLF-terminated and 7-bit. A printable ASCII value of
    our own is written as is, folded at its spaces when long; anything else (a
    non-ASCII subject or name, a stray control character) goes through the
    email package's registry, which encodes and folds it."""
    if _plain(value):
        if len(name) + len(value) < LINE:
            return f"{name}: {value}{CRLF}"
        folded = _fold_at_spaces(name, value)
        if folded is not None:
            return folded
    # A line break must never start a header of its own (Bcc: ...); the
    # registry would write it as is, so control characters become spaces.
    return SMTP.fold(name, _CONTROL.sub(" ", value))


def _plain(value: str) -> bool:
    # "=?" could be read as an encoded word by the receiving client.
    return value.isascii() and value.isprintable() and "=?" not in value


def _fold_at_spaces(name: str, value: str) -> str | None:
    """RFC 5322 folding before single spaces, lines kept short; None when a
    value has no single spaces to fold at (the registry does it then)."""
    if "  " in value or value.startswith(" ") or value.endswith(" "):
        return None
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    if any(len(part) > 998 for part in lines):
        return None
    return CRLF.join(lines) + CRLF


def _boundary() -> str:
    # "=_" never occurs in quoted-printable or base64, so no body can hold it;
    # the random part (not a secret, as in the email package) tells nested parts apart.
    return f"=_hd_{random.getrandbits(96):024x}"


def _quoted_printable(body: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends, as the SMTP policy writes it."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _text_part(body: str, subtype: str) -> bytes:
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii") + _quoted_printable(body)


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    """Content-Type header, blank line and the parts between boundaries."""
    boundary = _boundary().encode("ascii")
    out = [b'Content-Type: multipart/' + subtype.encode("ascii") + b'; boundary="' + boundary + b'"\r\n\r\n']
    for number, part in enumerate(parts):
        out.append((b"\r\n--" if number else b"--") + boundary + b"\r\n")
        out.append(part)
    out.append(b"\r\n--" + boundary + b"--\r\n")
    return b"".join(out)


def _alternative(text: str, html: str) -> bytes:
    """multipart/alternative of the text and HTML, UTF-8, quoted-printable."""
    return _multipart("alternative", [_text_part(text, "plain"), _text_part(html, "html")])


def _mixed(alternative: bytes, attachments: list[bytes]) -> bytes:
    """multipart/mixed: the bodies first, then the files."""
    return _multipart("mixed", [alternative, *attachments])


def _attachment_parts(settings: Settings, attachments: list[Attachment]) -> list[bytes]:
    """Each file as a base64 part; the email package writes these (filenames
    may need RFC 2231 encoding), and they are rare next to the bodies."""
    store = Store(settings.path("store"))
    parts = []
    for item in attachments:
        maintype, _, subtype = (item.content_type or "application/octet-stream").partition("/")
        part = MIMEPart(policy=SMTP)
        part.set_content(store.get(item.sha256), maintype=maintype, subtype=subtype or "octet-stream",
                         disposition="attachment", filename=item.filename)
        parts.append(part.as_bytes(policy=SMTP))
    return parts
