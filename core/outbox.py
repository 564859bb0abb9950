"""Queueing mail: a row in the outbox, in the caller's transaction.

mailout renders and delivers rows later; because the row commits with the
change that caused it, a crash never sends a mail about a change that did
not happen, nor loses one about a change that did.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from core.models import Outbox, Ticket, utcnow
from core.msgids import make_message_id
from core.settings import Settings


def enqueue(session: Session, settings: Settings, *, template: str, to: str, ticket: Ticket | None = None,
            context: dict | None = None, language: str = "id", automatic: bool = True,
            in_reply_to: str | None = None, references: str | None = None,
            now: datetime | None = None) -> Outbox:
    ref = ticket.ref if ticket is not None else "HD-NOTICE"
    row = Outbox(
        ticket_id=ticket.id if ticket is not None else None,
        template=template,
        context=json.dumps(context or {}, default=str),
        language=language,
        to_address=to.lower(),
        message_id=make_message_id(ref, settings.secret_key, settings.domain),
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        created_at=now or utcnow(),
        next_attempt_at=now or utcnow(),
    )
    session.add(row)
    return row
