"""Raw messages for the inbound tests, built as senders' clients build them."""
from __future__ import annotations

import base64
import itertools

HELPDESK = "helpdesk@helpdesk.test"
SCHOOL = "sman1@sekolah.test"        # S001's registered address (tests/factories.py)
OTHER_SCHOOL = "sman8@sekolah.test"
_numbers = itertools.count(1)


def new_message_id() -> str:
    return f"<msg{next(_numbers)}.test@client.test>"


def mail(*, sender: str = SCHOOL, subject: str = "Rapor tidak bisa dicetak", body: str = "Mohon bantuan.",
         message_id: str | None = "auto", headers: dict[str, str] | None = None, to: str = HELPDESK,
         newline: str = "\r\n") -> bytes:
    """A plain text mail; message_id="auto" makes a fresh one, None leaves it out."""
    lines = [f"From: Operator <{sender}>", f"To: {to}", f"Subject: {subject}",
             "Date: Mon, 23 Nov 2026 09:00:00 +0700", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    if message_id:
        lines.append(f"Message-ID: {new_message_id() if message_id == 'auto' else message_id}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return (newline.join(lines) + newline + newline + body.replace("\n", newline) + newline).encode("utf-8")


def message_id_of(raw: bytes) -> str:
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    raise ValueError("no Message-ID")


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def with_parts(*, sender: str = SCHOOL, subject: str = "Lampiran", html: str | None = None,
               text: str = "Terlampir.", files: list[tuple[str, str, bytes]] = (),
               inline: list[tuple[str, str, bytes]] = (), message_id: str | None = None) -> bytes:
    """multipart/mixed with text (and HTML), attachments (name, type, bytes) and
    inline parts (content-id, type, bytes). Names go out RFC 2231-encoded."""
    boundary = "==b0undary=="
    head = [f"From: <{sender}>", f"To: {HELPDESK}", f"Subject: {subject}",
            f"Message-ID: {message_id or new_message_id()}", "MIME-Version: 1.0",
            f'Content-Type: multipart/mixed; boundary="{boundary}"', ""]
    parts = [["Content-Type: text/plain; charset=utf-8", "", text]]
    if html is not None:
        parts.append(["Content-Type: text/html; charset=utf-8", "", html])
    for content_id, kind, content in inline:
        parts.append([f"Content-Type: {kind}", f"Content-ID: <{content_id}>", "Content-Disposition: inline",
                      "Content-Transfer-Encoding: base64", "", base64.encodebytes(content).decode()])
    for name, kind, content in files:
        quoted = "".join(c if c.isalnum() or c in ".-_" else "%%%02X" % b for c in name for b in c.encode())
        parts.append([f"Content-Type: {kind}", f"Content-Disposition: attachment; filename*=utf-8''{quoted}",
                      "Content-Transfer-Encoding: base64", "", base64.encodebytes(content).decode()])
    body = [line for part in parts for line in (f"--{boundary}", *part)] + [f"--{boundary}--", ""]
    return "\r\n".join(head + body).encode("utf-8")


def delivery_report(original_message_id: str, *, recipient: str = SCHOOL) -> bytes:
    """A standard RFC 3464 bounce of one of our mails, as Postfix sends it."""
    return "\r\n".join([
        "From: MAILER-DAEMON@mx.sekolah.test (Mail Delivery System)",
        f"To: {HELPDESK}", "Subject: Undelivered Mail Returned to Sender",
        f"Message-ID: {new_message_id()}", "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"', "",
        "--R", "Content-Type: text/plain", "", "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients.", "",
        "--R", "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; mx.sekolah.test", "",
        f"Final-Recipient: rfc822; {recipient}", "Action: failed", "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown", "",
        "--R", "Content-Type: text/rfc822-headers", "", f"From: {HELPDESK}", f"To: {recipient}",
        f"Message-ID: {original_message_id}", "Subject: [HD-XXXXXX] Tiket diterima", "",
        "--R--", "",
    ]).encode()
