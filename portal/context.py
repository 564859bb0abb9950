"""What every view reaches for: the database and settings of the running app,
and the CSRF protection. A leaf module: blueprints import it, it imports no
blueprint and not the app factory (as Flask's tutorial keeps get_db apart)."""
from __future__ import annotations

from flask import current_app
from flask_wtf.csrf import CSRFProtect

from core.config.settings import Settings
from core.storage.db import Database

csrf = CSRFProtect()


def db() -> Database:
    """The app's Database (engines and sessions)."""
    return current_app.extensions["helpdesk.db"]


def settings() -> Settings:
    """The app's process settings."""
    return current_app.extensions["helpdesk.settings"]
