"""Turn a drafted mail into the bytes a mail client would send.

The stdlib's compat32 MIME classes are used on purpose: they let each mail
choose its own charset and transfer encoding (quoted-printable, base64,
8bit) and its own RFC 2047 encoding (Q or B), which the newer EmailMessage
API decides for itself.
"""

import random
from dataclasses import dataclass
from datetime import datetime
from email import encoders, policy
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from html import escape
from typing import Any

import texts

WIRE = policy.compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class Attachment:
    filename: str
    maintype: str
    subtype: str
    content: bytes


@dataclass(frozen=True)
class Draft:
    index: int
    kind: str
    school: Any  # mailgen.School
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None
    references: list[str]
    ticket_of: str
    date: datetime
    charset: str
    cte: str
    header_enc: str
    non_ascii: bool
    to: str
    html_only: bool = False
    remote_image: bool = False
    attachment: Attachment | None = None

    @property
    def filename(self) -> str:
        return f"{self.index:05d}.eml"

    @property
    def sender(self) -> str:
        return formataddr((self.school.contact, self.school.email))


def invent_attachment(rng: random.Random) -> Attachment:
    pattern, maintype, subtype, magic = rng.choice(texts.ATTACHMENTS)
    size = rng.randint(100_000, 500_000)
    # Random bytes after the magic number: as incompressible as a real
    # compressed PDF or JPEG, and a content sniffer still sees the right type.
    content = magic + rng.randbytes(size - len(magic))
    return Attachment(pattern.format(n=rng.randint(1, 9)), maintype, subtype, content)


def encode_header(value: str, charset: str, header_enc: str, name: str) -> str | Header:
    if value.isascii():
        return value
    encoding = Charset(charset)
    encoding.header_encoding = QP if header_enc == "q" else BASE64
    # A Header (not its encoded string) lets the generator fold it after the
    # field name instead of leaving the first line empty.
    return Header(value, encoding, header_name=name)


def text_part(text: str, subtype: str, charset: str, cte: str) -> MIMEText:
    if charset == "us-ascii":
        return MIMEText(text, subtype, "us-ascii")
    encoding = Charset(charset)
    encoding.body_encoding = {"quoted-printable": QP, "base64": BASE64}.get(cte)
    return MIMEText(text, subtype, encoding)


def as_html(draft: Draft) -> str:
    paragraphs = "".join(f"<p>{escape(block).replace(chr(10), '<br>')}</p>"
                         for block in draft.text.split("\n\n"))
    image = ('<img src="https://pelacak.example.net/buka.gif" width="1" height="1">'
             if draft.remote_image else "")
    return (f'<html><head><meta charset="{draft.charset}"></head>'
            f'<body style="font-family:Arial">{paragraphs}{image}</body></html>\n')


def boundary(draft: Draft, part: str) -> str:
    # Set, not left to the stdlib, which draws it from the global random
    # state and would make the corpus differ between runs.
    return f"=_{part}_{draft.message_id.strip('<>').split('@')[0]}"


def body_of(draft: Draft) -> Message:
    plain = text_part(draft.text, "plain", draft.charset, draft.cte)
    if draft.kind == "html":
        html = text_part(as_html(draft), "html", draft.charset, draft.cte)
        if draft.html_only:
            return html
        alternative = MIMEMultipart("alternative", boundary=boundary(draft, "alt"))
        alternative.attach(plain)
        alternative.attach(html)
        return alternative
    if draft.attachment is None:
        return plain
    mixed = MIMEMultipart("mixed", boundary=boundary(draft, "mix"))
    mixed.attach(plain)
    mixed.attach(attachment_part(draft.attachment, draft.charset))
    return mixed


def attachment_part(attachment: Attachment, charset: str) -> MIMEBase:
    part = MIMEBase(attachment.maintype, attachment.subtype)
    part.set_payload(attachment.content)
    encoders.encode_base64(part)
    name = attachment.filename
    # Non-ASCII file names go as RFC 2231 parameters, as current clients send them.
    filename = name if name.isascii() else ("utf-8", "", name)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    return part


def render(draft: Draft) -> bytes:
    message = body_of(draft)
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    name = encode_header(draft.school.contact, draft.charset, draft.header_enc, "From")
    message["From"] = (formataddr((name, draft.school.email)) if isinstance(name, str)
                       else f"{name.encode()} <{draft.school.email}>")
    message["To"] = draft.to
    message["Subject"] = encode_header(draft.subject, draft.charset, draft.header_enc, "Subject")
    message["Date"] = format_datetime(draft.date)
    message["Message-ID"] = draft.message_id
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
        message["References"] = " ".join(draft.references)
    return message.as_bytes(policy=WIRE)
