"""Delivery status reports (RFC 3464): which of our mails bounced, and why.

A standard report is multipart/report; report-type=delivery-status, with a
message/delivery-status part and the original's headers. Some servers still
send plain-text bounces from MAILER-DAEMON; for those the original's
Message-ID is looked for in the quoted headers.
"""
from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser

from mailin.inbound import DeliveryReport

DAEMONS = frozenset({"mailer-daemon", "postmaster"})
_MESSAGE_ID_LINE = re.compile(rb"^message-id:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def is_daemon(address: str | None) -> bool:
    return (address or "").partition("@")[0].lower() in DAEMONS


def is_report(message: Message) -> bool:
    return (message.get_content_type() == "multipart/report"
            and (message.get_param("report-type") or "").lower() == "delivery-status")


def read_report(message: Message, raw: bytes, sender: str | None,
                own_id: str | None) -> DeliveryReport | None:
    """The bounce this message reports, or None if it is not a bounce."""
    if is_report(message):
        return DeliveryReport(_original_id(message) or _quoted_id(raw, own_id), _reason(message))
    if is_daemon(sender):
        original = _quoted_id(raw, own_id)
        if original:
            return DeliveryReport(original, "undeliverable (non-standard bounce)")
    return None


def _original_id(report: Message) -> str | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            value = part.get_payload(0).get("Message-ID")
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            value = HeaderParser().parsestr(text.decode("utf-8", "replace")).get("Message-ID")
        else:
            continue
        if value:
            return str(value).strip()
    return None


def _quoted_id(raw: bytes, own: str | None) -> str | None:
    """The first Message-ID header line in the raw text that is not the report's own."""
    for found in _MESSAGE_ID_LINE.findall(raw):
        value = found.decode("ascii", "replace")
        if value != own:
            return value
    return None


def _reason(report: Message) -> str:
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            status = block.get("Status")
            if status:
                parts = [f"{block.get('Action', 'failed')} {status}".strip()]
                if block.get("Final-Recipient"):
                    parts.append(str(block["Final-Recipient"]).split(";")[-1].strip())
                if block.get("Diagnostic-Code"):
                    parts.append(" ".join(str(block["Diagnostic-Code"]).split()))
                return ": ".join(parts)[:500]
    return "delivery failed"
