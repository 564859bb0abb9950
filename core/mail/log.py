"""The mail log: one row per raw message received, as plain dicts (for
`helpdesk mail-log` and anything else that reports on inbound mail)."""
from __future__ import annotations

from collections.abc import Iterator
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.mail.auth import verdict_from_json
from core.models import RawMail, Ticket


def mail_log(session: Session, *, batch: int = 1000) -> Iterator[dict]:
    """Every RawMail, oldest first, with the reference of its ticket."""
    query = (select(RawMail, Ticket.ref).outerjoin(Ticket, Ticket.id == RawMail.ticket_id)
             .order_by(RawMail.id).execution_options(yield_per=batch))
    for raw, ref in session.execute(query):
        yield log_row(raw, ref)


def log_row(raw: RawMail, ticket_ref: str | None) -> dict:
    return {
        "id": raw.id,
        "received_at": raw.received_at.isoformat(),
        "channel": raw.channel,
        "envelope_from": raw.envelope_from,
        "message_id": raw.message_id,
        "sha256": raw.sha256,
        "size": raw.size,
        # No outcome yet: still being processed, or cut short by a failure.
        "outcome": raw.outcome.value if raw.outcome is not None else None,
        "ticket_ref": ticket_ref,
        "reason": raw.reason,
        "auth": auth_dict(raw.auth),
    }


def auth_dict(auth_json: str | None) -> dict | None:
    """A raw mail's authentication verdict as the log and the export show it:
    `spf`, `dkim` and `dmarc` results first, then the details; None for mail
    received before the checks existed."""
    verdict = verdict_from_json(auth_json)
    if verdict is None:
        return None
    details = json.loads(verdict.as_json())
    return {"spf": verdict.spf, "dkim": verdict.dkim, "dmarc": verdict.dmarc,
            **{key: value for key, value in details.items() if key not in ("spf", "dkim", "dmarc")}}
