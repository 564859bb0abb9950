"""Managing staff accounts from the admin pages, scoped to the admin's office and
the offices below it (the root office's admins manage everyone)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.directory.staff import StaffError, create_staff
from core.models import Office, Role, User
from core.words import N_


class UserNotFound(LookupError):
    """No such user, or one outside the admin's subtree (the two look the same)."""


def _below(admin: User):
    # autoescape: an office code may hold LIKE's wildcards ("P_1" would match "PX1").
    return select(Office.id).where(Office.path.startswith(admin.office.path, autoescape=True))


def list_users(session: Session, admin: User) -> list[User]:
    return list(session.scalars(select(User).where(User.office_id.in_(_below(admin))).order_by(User.email)))


def managed_user(session: Session, admin: User, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.office.path.startswith(admin.office.path):
        raise UserNotFound(user_id)
    return user


def managed_office(session: Session, admin: User, code: str) -> Office:
    office = session.scalar(select(Office).where(Office.code == code.strip()))
    if office is None or not office.path.startswith(admin.office.path):
        raise StaffError(N_("no office %(code)s in your part of the directory") % {"code": repr(code)})
    return office


def add_user(session: Session, admin: User, *, email: str, name: str, office_code: str, role: str,
             password: str) -> User:
    managed_office(session, admin, office_code)
    return create_staff(session, email=email, name=name, office_code=office_code, role=Role(role),
                        password=password, actor=admin)


def update_user(session: Session, admin: User, user_id: int, *, name: str, office_code: str, role: str,
                active: bool) -> User:
    """Change a user's name, office, role or whether the account may log in."""
    user = managed_user(session, admin, user_id)
    if user.id == admin.id and (not active or Role(role) is not Role.admin):
        raise StaffError(N_("you cannot lock yourself out; ask another admin"))
    office = managed_office(session, admin, office_code)
    before = f"{user.role} {user.office.code} {'active' if user.active else 'inactive'}"
    user.name, user.office, user.role, user.active = name.strip() or user.email, office, Role(role), active
    if not active:
        user.available = False
    after = f"{user.role} {office.code} {'active' if active else 'inactive'}"
    if before != after:
        audit.record(session, None, "user_changed", admin, from_value=f"{user.email} {before}", to_value=after)
    session.flush()
    return user
