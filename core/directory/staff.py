"""Staff accounts: creation and the checks every way of creating one shares;
when a person was last seen."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from core import audit
from core.access.passwords import hash_password
from core.directory.csvrows import EMAIL
from core.models import Office, Role, User, utcnow
from core.words import N_


class StaffError(ValueError):
    pass


def create_staff(session: Session, *, email: str, name: str, office_code: str, role: str | Role,
                 password: str, actor: User | str | None = None) -> User:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise StaffError(N_("%(email)s is not an email address") % {"email": repr(email)})
    if session.scalar(select(User.id).where(User.email == email)):
        raise StaffError(N_("a user %(email)s already exists") % {"email": email})
    office = session.scalar(select(Office).where(Office.code == office_code))
    if office is None:
        raise StaffError(N_("no office with code %(code)s") % {"code": repr(office_code)})
    user = User(email=email, name=name.strip() or email, password_hash=hash_password(password),
                office=office, role=Role(role), password_changed_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, None, "user_created", actor, to_value=f"{email} {role} {office_code}")
    return user


# A page load stamps last_seen_at at most this often: one small write a
# minute per person, however many pages they load.
SEEN_EVERY = timedelta(minutes=1)
_users = User.__table__
_STAMP_SEEN = update(_users).where(_users.c.id == bindparam("user_id"), or_(
    _users.c.last_seen_at.is_(None), _users.c.last_seen_at < bindparam("stale"))).values(
    last_seen_at=bindparam("now"))


def stale_seen(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether a page load now should stamp the person as seen again."""
    return last_seen_at is None or now - last_seen_at >= SEEN_EVERY


def mark_seen(session: Session, user_id: int, now: datetime | None = None) -> None:
    """The person loaded a page: they are here (core.tickets.assignment reads it).
    A conditional UPDATE, so two pages at once write it once."""
    now = now or utcnow()
    session.execute(_STAMP_SEEN, {"user_id": user_id, "stale": now - SEEN_EVERY, "now": now})


def find_staff(session: Session, email: str) -> User | None:
    """A member of staff by address (any case), active or not."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))
