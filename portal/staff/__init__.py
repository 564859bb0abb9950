"""The staff portal: log-in, queues, the ticket page and its actions, search, account."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort
from flask_login import current_user
from sqlalchemy.orm import Session

from core.logins import active_user
from core.models import User

bp = Blueprint("staff", __name__)

# English names of statuses, history events, roles and sorts; _() gives Indonesian.
LABELS = {
    "open": "Open", "answered": "Answered", "on_hold": "On hold", "forwarded": "Forwarded", "closed": "Closed",
    "created": "Created", "status": "Status changed", "reply": "Replied", "note": "Internal note",
    "assignee": "Assignee changed", "forwarded_up": "Forwarded up", "merged": "Merged into",
    "merged_in": "Merged in", "linked": "Linked", "sla_breach": "SLA breached", "sla_warning": "SLA warning",
    "agent": "Agent", "supervisor": "Supervisor", "admin": "Administrator",
    "updated": "Recently updated", "oldest": "Least recently updated", "newest": "Newest first",
    "due": "Due soonest", "priority": "Most urgent",
}


@bp.app_context_processor
def labels():
    from portal.i18n import translate

    def label(key: object) -> str:
        key = str(key)
        return translate(LABELS.get(key, key.replace("_", " ").capitalize()))
    return {"label": label}


def me(session: Session) -> User:
    """The logged-in user's row in this session (the account may have been switched off)."""
    user = active_user(session, current_user.id)
    if user is None:
        abort(403)
    return user


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: a `next` of //evil.example or https://... goes home."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


from portal.staff import account_views, login_views, queue_views, ticket_views  # noqa: E402,F401  (routes)
