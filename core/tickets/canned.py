"""Canned responses: stock answers an office (or everyone) reuses in replies."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.models import CannedResponse, Office, Ticket, User


class UnknownCanned(LookupError):
    pass


def _usable(user: User):
    """Everyone's answers and those of the user's office and the offices above it."""
    codes = [c for c in user.office.path.strip("/").split("/") if c]
    return (CannedResponse.active.is_(True),
            or_(CannedResponse.office_id.is_(None),
                CannedResponse.office_id.in_(select(Office.id).where(Office.code.in_(codes)))))


def list_canned(session: Session, user: User) -> list[CannedResponse]:
    return list(session.scalars(select(CannedResponse).where(*_usable(user)).order_by(CannedResponse.title)))


def fill(session: Session, user: User, canned_id: int, text: str, ticket: Ticket) -> str:
    """The canned answer (with {ref} and {name} filled in) above what staff typed."""
    answer = session.scalar(select(CannedResponse).where(CannedResponse.id == canned_id, *_usable(user)))
    if answer is None:
        raise UnknownCanned(canned_id)
    body = answer.body.replace("{ref}", ticket.ref).replace("{name}", ticket.requester_name or "")
    return f"{body}\n\n{text.strip()}" if text and text.strip() else body


def list_all_canned(session: Session) -> list[CannedResponse]:
    return list(session.scalars(select(CannedResponse).order_by(CannedResponse.title)))


def save_canned(session: Session, actor: User, title: str, body: str, office: Office | None,
                canned_id: int | None = None, active: bool = True) -> CannedResponse:
    row = session.get(CannedResponse, canned_id) if canned_id else CannedResponse()
    if row is None:
        raise UnknownCanned(canned_id)
    row.title, row.body, row.office_id = title.strip()[:120], body.strip(), office.id if office else None
    row.active = active
    session.add(row)
    session.flush()
    audit.record(session, None, "canned", actor, to_value=row.title)
    return row
