"""Staff accounts: creation and the checks every way of creating one shares."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.access.passwords import hash_password
from core.directory.csvrows import EMAIL
from core.models import Office, Role, User, utcnow


class StaffError(ValueError):
    pass


def create_staff(session: Session, *, email: str, name: str, office_code: str, role: str | Role,
                 password: str, actor: User | str | None = None) -> User:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise StaffError(f"{email!r} is not an email address")
    if session.scalar(select(User.id).where(User.email == email)):
        raise StaffError(f"a user {email} already exists")
    office = session.scalar(select(Office).where(Office.code == office_code))
    if office is None:
        raise StaffError(f"no office with code {office_code!r}")
    user = User(email=email, name=name.strip() or email, password_hash=hash_password(password),
                office=office, role=Role(role), password_changed_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, None, "user_created", actor, to_value=f"{email} {role} {office_code}")
    return user
