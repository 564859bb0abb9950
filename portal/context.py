"""What every view reaches for: the database and settings of the running app,
and the CSRF protection. A leaf module: blueprints import it, it imports no
blueprint and not the app factory (as Flask's tutorial keeps get_db apart)."""
from __future__ import annotations

from flask import current_app
from flask_wtf.csrf import CSRFProtect

from core.config.settings import Settings
from core.storage.db import Database
from core.storage.recent import RecentAnswers

csrf = CSRFProtect()


def db() -> Database:
    """The app's Database (engines and sessions)."""
    return current_app.extensions["helpdesk.db"]


def settings() -> Settings:
    """The app's process settings."""
    return current_app.extensions["helpdesk.settings"]


# How long one process reuses what pages and API lists show around the list
# itself: the queues' counts (seconds: staff act on tickets all day) and the
# directory's side of things, the offices below a user's and the filter
# lists (they change with admin work).
COUNTS_SECONDS = 5
DIRECTORY_SECONDS = 30


def recent(kind: str) -> RecentAnswers:
    """This app's memory of recent answers of one kind ("counts" or "directory")."""
    kept = current_app.extensions.setdefault("helpdesk.recent", {
        "counts": RecentAnswers(COUNTS_SECONDS), "directory": RecentAnswers(DIRECTORY_SECONDS)})
    return kept[kind]
