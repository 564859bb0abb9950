"""A ticket's participants' copies of its staff replies, and their own
private links.

Each participant gets their own copy of a reply, carrying their own link:
were they copied (Cc) on the requester's mail, they would hold the
requester's link, write through it as the requester, and lose the ticket
whenever the requester's link is reissued. A participant's link is kept as
the requester's is (core.access.tokens): the nonce and the token's SHA-256,
the token derived again from the secret key when a mail is rendered.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.access.tokens import hash_token, new_nonce, participant_token
from core.config.settings import Settings
from core.models import Participant

# Set on a copy's outbox context: rendering looks up the recipient's own link.
COPY = "participant_copy"


def link_values(settings: Settings, ticket_id: int, address: str, now: datetime) -> dict:
    """A new link's columns of the participant `address` of the ticket (revoking any earlier one)."""
    nonce = new_nonce()
    token = participant_token(settings.secret_key, ticket_id, address, nonce)
    return {"token_nonce": nonce, "token_hash": hash_token(token), "token_issued_at": now}


def issue_missing(session: Session, settings: Settings, ticket_id: int, now: datetime) -> None:
    """Give the ticket's participants from before per-person links theirs."""
    for participant_id, address in session.execute(select(Participant.id, Participant.address).where(
            Participant.ticket_id == ticket_id, Participant.token_hash.is_(None))).all():
        session.execute(update(Participant).where(Participant.id == participant_id)
                        .values(**link_values(settings, ticket_id, address, now))
                        .execution_options(synchronize_session=False))


_NONCE = select(Participant.token_nonce).where(Participant.ticket_id == bindparam("ticket_id"),
                                               Participant.address == bindparam("address"))


def link_of(session: Session, settings: Settings, ticket_id: int, address: str) -> str | None:
    """The participant's private link as it goes into their copy; None when
    they are no longer a participant (removed since the copy was queued)."""
    nonce = session.scalar(_NONCE, {"ticket_id": ticket_id, "address": address.lower()})
    if nonce is None:
        return None
    return f"{settings.base_url}/t/{participant_token(settings.secret_key, ticket_id, address.lower(), nonce)}"
