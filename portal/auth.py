"""Who may open which staff and admin page: the one place roles are checked.

Every view of the `staff` and `admin` blueprints declares its rule with
`@access(...)`. A before-request hook enforces it, and a view without a rule
is refused outright, so a new page cannot be forgotten: the route table test
enumerates app.url_map and checks every rule.

Rules:
  public  anyone (the log-in and password-reset pages)
  staff   any logged-in member of staff
  admin   an admin; what they manage is scoped to their office's subtree in core
  system  an admin of the root office (directory, policy, mail, quarantine)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import LoginManager, current_user

from core.access.logins import active_user
from core.directory.staff import mark_seen, stale_seen
from core.models import Role, User, utcnow

PUBLIC, STAFF, ADMIN, SYSTEM = "public", "staff", "admin", "system"
RULES = (PUBLIC, STAFF, ADMIN, SYSTEM)
GUARDED_BLUEPRINTS = ("staff", "admin")
login_manager = LoginManager()


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user as the session knows it; views load the row when they need it.

    The session id carries a piece of the password hash, so changing the
    password ends every other session of that user.
    """
    id: int
    email: str
    name: str
    role: Role
    office_id: int
    office_code: str
    office_path: str
    is_root_office: bool
    generation: str
    language: str | None = None
    last_seen_at: datetime | None = None
    office_timezone: str | None = None  # the zone the person's lists show times in
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return f"{self.id}:{self.generation}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @classmethod
    def of(cls, user: User) -> "SessionUser":
        return cls(user.id, user.email, user.name, user.role, user.office_id, user.office.code,
                   user.office.path, user.office.parent_id is None, generation(user), user.language,
                   user.last_seen_at, user.office.timezone)


def generation(user: User) -> str:
    return user.password_hash[-12:]


def access(rule: str) -> Callable:
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(view: Callable) -> Callable:
        view.access_rule = rule
        return view
    return mark


def rule_of(app: Flask, endpoint: str) -> str | None:
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def allowed(rule: str, user) -> bool:
    if rule == PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    if rule == STAFF:
        return True
    if rule == ADMIN:
        return user.is_admin
    return user.is_admin and user.is_root_office


def load_user(user_id: str) -> SessionUser | None:
    """The session's user, if the account is active and the password unchanged since log-in."""
    uid, _, gen = user_id.partition(":")
    if not uid.isdigit():
        return None
    with current_app.extensions["helpdesk.db"].read() as session:  # every staff request: no write lock
        user = active_user(session, int(uid))
        return SessionUser.of(user) if user is not None and generation(user) == gen else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.user_loader(load_user)

    @app.before_request
    def enforce():
        if request.blueprint not in GUARDED_BLUEPRINTS or request.endpoint is None:
            return None
        rule = rule_of(current_app, request.endpoint)
        if rule is None:  # a view that forgot to declare who may see it
            abort(403)
        if rule != PUBLIC and not current_user.is_authenticated:
            return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
        if not allowed(rule, current_user):
            abort(403)
        _stamp_seen()
        return None


def _stamp_seen() -> None:
    """A page loaded by a logged-in person keeps them available (at most one
    write a minute: the row read by load_user says when it was last done)."""
    if not current_user.is_authenticated:
        return
    now = utcnow()
    if stale_seen(current_user.last_seen_at, now):
        with current_app.extensions["helpdesk.db"].begin() as session:
            mark_seen(session, current_user.id, now)
