"""Confirmed contacts: addresses staff said belong to a school (a teacher's or a
parent's own mailbox). Mail from one routes as the school's own
(core.tickets.intake.find_home); removing it sends the next mail to triage."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.directory.csvrows import EMAIL
from core.models import Contact, Office, User, utcnow
from core.words import N_


class ContactRefused(ValueError):
    """The address cannot become this school's contact (and why)."""


def find_school(session: Session, policy: Policy, hint: str) -> Office | None:
    """A customer office by its code or its registered address (the public
    form's school field, and staff naming a sender's school)."""
    hint = hint.strip()
    if not hint:
        return None
    return session.scalar(select(Office).where(
        or_(Office.code == hint.upper(), Office.email == hint.lower()),
        Office.kind == policy.customer_kind, Office.active.is_(True)))


def confirm(session: Session, email: str, school: Office, actor: User | str, *,
            now: datetime | None = None) -> Contact:
    """Make the address a contact of the school (again the same row if it is one
    already). Refused for an office's registered address, which routes by the
    directory, and for another school's contact, which must be removed first."""
    email = (email or "").strip().lower()
    if not EMAIL.fullmatch(email):
        raise ContactRefused(N_("%(email)s is not an email address") % {"email": repr(email)})
    registered = session.scalar(select(Office).where(Office.email == email))
    if registered is not None:
        raise ContactRefused(N_("%(email)s is the registered address of %(school)s")
                             % {"email": email, "school": registered.name})
    contact = session.scalar(select(Contact).where(Contact.email == email))
    if contact is not None:
        if contact.school_id != school.id:
            raise ContactRefused(N_("%(email)s is already a contact of %(school)s; remove it there first")
                                 % {"email": email, "school": contact.school.name})
        return contact
    now = now or utcnow()
    contact = Contact(email=email, school=school, created_at=now, created_by=audit.actor_name(actor))
    session.add(contact)
    session.flush()
    audit.record(session, None, "contact_confirmed", actor, from_value=email, to_value=school.code, at=now)
    return contact


def contacts_of(session: Session, school: Office) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.school_id == school.id).order_by(Contact.email)))


def remove(session: Session, contact: Contact, actor: User | str, *, now: datetime | None = None) -> None:
    """The address is no longer the school's: its next mail goes to triage."""
    audit.record(session, None, "contact_removed", actor, from_value=contact.email, to_value=contact.school.code,
                 at=now or utcnow())
    session.delete(contact)
    session.flush()


def school_in_reach(session: Session, user: User, code: str, customer_kind: str) -> Office | None:
    """The school with this code if it lies in the user's part of the directory
    (an admin manages the schools below their office)."""
    return session.scalar(select(Office).where(
        Office.code == (code or "").strip().upper(), Office.kind == customer_kind,
        Office.path.startswith(user.office.path, autoescape=True)))


def contact_in_reach(session: Session, user: User, contact_id: int) -> Contact | None:
    """A contact of a school in the user's part of the directory."""
    return session.scalar(select(Contact).join(Office, Office.id == Contact.school_id).where(
        Contact.id == contact_id, Office.path.startswith(user.office.path, autoescape=True)))
