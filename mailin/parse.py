"""Step 3, parse: raw bytes to an InboundMail, with mail-parser.

Mail is what senders make of it: unknown or wrong charsets decode with
replacement characters, 8-bit headers, bare LF line ends, a missing Date or
body and an empty subject all parse. Only a message that cannot be read at
all, or that names no sender anywhere, is Malformed.
"""
from __future__ import annotations

import base64
import binascii
import copy
import email.feedparser
import re
from datetime import timezone
from functools import lru_cache

import mailparser
import mailparser.core
from mailparser.exceptions import MailParserError

from core.words import N_
from mailin.dsn import read_report
from mailin.inbound import InboundAttachment, InboundMail, Malformed

SCREENED_HEADERS = (
    "auto-submitted", "precedence", "list-id", "x-autoreply", "x-autorespond",
    "x-auto-response-suppress", "return-path", "content-type",
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MAX_ID = 995
_MAX_ADDRESS = 254  # RFC 5321's limit on a path, and the columns'
_MAX_NAME = 200


class MailParser(mailparser.MailParser):
    """mail-parser, without the two dicts of the whole message (`mail` and
    `mail_partial`) that it builds at the end of every parse: every header
    decoded twice over, a sixth of a parse, and nothing here reads them. The
    parts and the headers used are read through its properties as usual."""

    def _make_mail(self, complete: bool = True) -> dict:
        return {}


# mail-parser reads every address header (From, To, Cc, Reply-To, ...) of
# every message with its own scanner and then email's, 20-40 us a header.
# The same values come again and again (To: the helpdesk's address; From: a
# school that writes often), and the reading depends on the value alone, so
# each value of up to _REMEMBERED_MAX characters is read once per process
# and its result (the mailboxes, and the diagnostics handed to the caller's
# list, copied) given again after. A Header object (8-bit bytes) or a longer
# value is read every time.
_library_get_addresses = mailparser.core.get_addresses
_REMEMBERED_MAX = 998  # RFC 5322's longest line


@lru_cache(maxsize=4096)
def _addresses_once(value: str, decode_names: bool) -> tuple[tuple, tuple]:
    diagnostics: list = []
    found = _library_get_addresses(value, defects=diagnostics, decode_names=decode_names)
    return tuple(found), tuple(diagnostics)


def remembered_addresses(raw_header, *, defects: list | None = None, decode_names: bool = False) -> list:
    """mailparser.utils.get_addresses, its result for a value kept (see above)."""
    if type(raw_header) is not str or len(raw_header) > _REMEMBERED_MAX:
        return _library_get_addresses(raw_header, defects=defects, decode_names=decode_names)
    found, diagnostics = _addresses_once(raw_header, decode_names)
    if defects is not None and diagnostics:
        defects.extend(copy.deepcopy(diagnostics))
    return list(found)


mailparser.core.get_addresses = remembered_addresses


_library_line_end = email.feedparser.NLCRE_eol


class LineEndAtEnd:
    r"""email.feedparser's NLCRE_eol, r'(\r\n|\r|\n)\Z', searched in the last
    two characters only. The feed parser takes the line end off the end of
    every part with `NLCRE_eol.search(payload)`, and the regex engine tries
    the pattern at every line end of the part before the last: 0.5 ms for an
    80 KB base64 attachment, a fifth of all parsing over the bench's mail. A
    match can only lie in the last two characters, and the parser reads
    nothing of it but its text (`group(0)`), which is the same."""

    def search(self, string: str) -> re.Match | None:
        return _library_line_end.search(string[-2:])


if not isinstance(email.feedparser.NLCRE_eol, LineEndAtEnd):
    email.feedparser.NLCRE_eol = LineEndAtEnd()


def parse(raw: bytes, envelope_from: str | None = None) -> InboundMail:
    if not raw.strip():
        raise Malformed(N_("empty message"))
    try:
        parsed = MailParser.from_bytes(raw)
    except (MailParserError, LookupError, ValueError, TypeError, IndexError) as exc:
        # mail-parser and the email package beneath it raise these on mail
        # they cannot take apart; anything else is a bug and is shown as one.
        raise Malformed((N_("unparseable: %(kind)s: %(error)s")
                         % {"kind": type(exc).__name__, "error": exc})[:500]) from exc
    if parsed.message is None or not parsed.message.keys():
        raise Malformed(N_("no header fields"))
    name, address = _sender(parsed.from_, envelope_from)
    message_id = message_id_in(_text(parsed.message_id))
    return InboundMail(
        from_address=address,
        from_name=name,
        subject=" ".join(_text(parsed.subject).split())[:998],
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        message_id=message_id,
        in_reply_to=message_id_in(_text(parsed.in_reply_to)),
        references=tuple(_MESSAGE_ID.findall(_text(parsed.references)))[-50:],
        date=parsed.date.astimezone(timezone.utc) if parsed.date else None,
        text=_text("\n".join(parsed.text_plain)),
        html=_text("\n".join(parsed.text_html)),
        attachments=tuple(_attachment(item) for item in parsed.attachments),
        headers=_screened_headers(parsed),
        content_type=parsed.message.get_content_type(),
        report=read_report(parsed.message, raw, address, message_id),
        envelope_from=envelope_from,
    )


def _text(value) -> str:
    """A string any database stores: no NUL characters (PostgreSQL refuses
    them) and no lone surrogates from undecodable bytes."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _sender(from_: list, envelope_from: str | None) -> tuple[str | None, str]:
    """The From address, else the envelope sender: a reply has to go somewhere."""
    for name, address in from_ or []:
        address = _text(address).strip().lower()
        if "@" in address and len(address) <= _MAX_ADDRESS:
            return (_text(name).strip()[:_MAX_NAME] or None), address
    if envelope_from and "@" in envelope_from and len(envelope_from) <= _MAX_ADDRESS:
        return None, _text(envelope_from).strip().strip("<>").lower()
    raise Malformed(N_("no sender address in From or the envelope"))


def _addresses(pairs: list) -> tuple[str, ...]:
    return tuple(_text(address).strip().lower() for _, address in pairs or [] if "@" in _text(address))


def message_id_in(value: str) -> str | None:
    """A Message-ID in its angle brackets; some clients leave the brackets off."""
    found = _MESSAGE_ID.search(value)
    if found:
        return found.group(0)[:_MAX_ID]
    value = value.strip()
    return f"<{value}>"[:_MAX_ID] if value and " " not in value else None


def _screened_headers(parsed: MailParser) -> tuple[tuple[str, str], ...]:
    """The headers the screen reads, each decoded once by name (mail-parser's
    `headers` would decode every header of the message); those the message
    lacks are not asked for (mail-parser would answer "")."""
    present = {key.lower() for key in parsed.message.keys()}
    wanted = []
    for name in SCREENED_HEADERS:
        if name not in present:
            continue
        value = getattr(parsed, name.replace("-", "_"))
        if value:
            wanted.append((name, " ".join(_text(value).split())))
    return tuple(wanted)


def _attachment(item: dict) -> InboundAttachment:
    content_id = _text(item.get("content-id")).strip().strip("<>") or None
    filename = _text(item.get("filename"))
    if content_id and filename.strip("<>") == content_id:
        # mail-parser names an unnamed inline part after its Content-ID;
        # the content will name its type instead.
        filename = ""
    disposition = _text(item.get("content-disposition")).lower()
    return InboundAttachment(
        filename=filename,
        content=_payload(item),
        content_type=_text(item.get("mail_content_type")) or "application/octet-stream",
        content_id=content_id,
        inline=disposition.startswith("inline") or (bool(content_id) and not disposition),
    )


def _payload(item: dict) -> bytes:
    payload = item.get("payload") or ""
    if not item.get("binary"):
        return payload.encode("utf-8", "surrogateescape")
    try:
        return base64.b64decode(payload)
    except (binascii.Error, ValueError):
        # A broken base64 body: keep what decodes rather than lose the file.
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        return base64.b64decode(cleaned[: len(cleaned) // 4 * 4])
