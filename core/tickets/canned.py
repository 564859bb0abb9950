"""Canned responses: stock answers an office (or everyone) reuses in replies.

An office's staff are offered the answers of their own office, of every
office above it, and those kept for everyone (no office). Supervisors and
admins write their own office's answers; admins also those of any office
below theirs (core.directory.accounts.managed_office).

An answer's text may name the ticket it is used on: {{ ticket.ref }},
{{ ticket.subject }}, {{ requester.name }}, {{ requester.email }},
{{ school.name }}, {{ school.code }}, {{ agent.name }}, {{ office.name }}.
Filling them is a plain substitution of those names, not a template
language: a supervisor's wording can reach no object, loop or compute
anything (even Jinja's sandbox lets `{{ 'x' * 10**9 }}` fill the memory), and
a name outside the list is refused when the answer is saved.

Answers once named the ticket as {ref} and the requester as {name}; migration
0014 rewrote the stored ones, and a new answer written that way is refused
with the current form as the hint, rather than printed literally.
"""
from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.directory.accounts import managed_office
from core.directory.staff import StaffError
from core.models import CannedResponse, Office, Role, Ticket, User
from core.words import N_

PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+)\.([a-z]+)\s*\}\}")
PLACEHOLDERS = ("ticket.ref", "ticket.subject", "requester.name", "requester.email", "school.name",
                "school.code", "agent.name", "office.name")
# The placeholders of the first canned answers, and what to write instead.
OLD_FORMS = {"{ref}": "{{ ticket.ref }}", "{name}": "{{ requester.name }}"}


class UnknownCanned(LookupError):
    pass


class CannedRefused(ValueError):
    """An answer that cannot be saved as written: a fixed sentence (translated
    where it is shown) and a detail, such as the unknown placeholder."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


def _usable(user: User):
    """Everyone's answers and those of the user's office and the offices above it."""
    codes = [c for c in user.office.path.strip("/").split("/") if c]
    return (CannedResponse.active.is_(True),
            or_(CannedResponse.office_id.is_(None),
                CannedResponse.office_id.in_(select(Office.id).where(Office.code.in_(codes)))))


def list_canned(session: Session, user: User) -> list[CannedResponse]:
    return list(session.scalars(select(CannedResponse).where(*_usable(user)).order_by(CannedResponse.title)))


def placeholders(ticket: Ticket, agent: User) -> dict[str, dict[str, str]]:
    """The values an answer may name, as plain strings."""
    school = ticket.school
    return {
        "ticket": {"ref": ticket.ref, "subject": ticket.subject},
        "requester": {"name": ticket.requester_name or "", "email": ticket.requester_email},
        "school": {"name": school.name if school else "", "code": school.code if school else ""},
        "agent": {"name": agent.name},
        "office": {"name": ticket.office.name},
    }


def render(body: str, values: dict[str, dict[str, str]]) -> str:
    """The answer with its placeholders filled (a name not in `values` becomes empty)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), {}).get(m.group(2), ""), body).strip()


def check(body: str) -> None:
    """CannedRefused when the answer names a placeholder that does not exist."""
    unknown = [m.group(0) for m in PLACEHOLDER.finditer(body) if f"{m.group(1)}.{m.group(2)}" not in PLACEHOLDERS]
    unknown += [f"{old} ({new})" for old, new in OLD_FORMS.items() if old in body]
    if unknown:
        raise CannedRefused(N_("The text names a placeholder that does not exist."), ", ".join(unknown))


def fill(session: Session, user: User, canned_id: int, text: str, ticket: Ticket) -> str:
    """The canned answer (placeholders filled in for this ticket) above what staff typed."""
    answer = session.scalar(select(CannedResponse).where(CannedResponse.id == canned_id, *_usable(user)))
    if answer is None:
        raise UnknownCanned(canned_id)
    body = render(answer.body, placeholders(ticket, user))
    return f"{body}\n\n{text.strip()}" if text and text.strip() else body


def list_all_canned(session: Session) -> list[CannedResponse]:
    return list(session.scalars(select(CannedResponse).order_by(CannedResponse.title)))


def can_manage(user: User) -> bool:
    return user.role in (Role.supervisor, Role.admin)


def list_managed(session: Session, user: User) -> list[CannedResponse]:
    """The answers this supervisor or admin may edit: their office's (and, for
    an admin, those of the offices below), active or not."""
    if not can_manage(user):
        return []
    mine = CannedResponse.office_id == user.office_id
    if user.role is Role.admin:
        mine = CannedResponse.office_id.in_(
            select(Office.id).where(Office.path.startswith(user.office.path, autoescape=True)))
    return list(session.scalars(select(CannedResponse).where(mine).order_by(CannedResponse.title)))


def save_office_canned(session: Session, actor: User, title: str, body: str, *, office_code: str = "",
                       canned_id: int | None = None, active: bool = True) -> CannedResponse:
    """A supervisor or admin writes an answer of their own office (an admin: or of one below).

    The answer must render in the sandbox; an answer of another office, or
    one kept for everyone, is not theirs to change (UnknownCanned)."""
    if not can_manage(actor):
        raise CannedRefused(N_("Only supervisors and admins write their office's canned responses."))
    office = actor.office
    if office_code.strip() and office_code.strip() != actor.office.code:
        if actor.role is not Role.admin:
            raise CannedRefused(N_("A supervisor writes the canned responses of their own office only."))
        try:
            office = managed_office(session, actor, office_code)
        except StaffError:
            raise CannedRefused(N_("No such office in your part of the directory."), office_code.strip()) from None
    if canned_id is not None and canned_id not in {c.id for c in list_managed(session, actor)}:
        raise UnknownCanned(canned_id)
    return save_canned(session, actor, title, body, office, canned_id=canned_id, active=active)


def save_canned(session: Session, actor: User, title: str, body: str, office: Office | None,
                canned_id: int | None = None, active: bool = True) -> CannedResponse:
    if not title.strip() or not body.strip():
        raise CannedRefused(N_("A canned response needs a title and a text."))
    check(body)
    row = session.get(CannedResponse, canned_id) if canned_id else CannedResponse()
    if row is None:
        raise UnknownCanned(canned_id)
    row.title, row.body, row.office_id = title.strip()[:120], body.strip(), office.id if office else None
    row.active = active
    session.add(row)
    session.flush()
    audit.record(session, None, "canned", actor, to_value=row.title)
    return row
