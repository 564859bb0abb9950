"""One Database (engine and pool) per worker process and settings."""
from __future__ import annotations

import threading

from celery import Celery

from core.config.settings import Settings, load_settings
from core.storage.db import Database

_databases: dict[Settings, Database] = {}
_lock = threading.Lock()


def database_of(app: Celery) -> Database:
    settings = getattr(app, "helpdesk_settings", None) or load_settings()
    with _lock:
        if settings not in _databases:
            _databases[settings] = Database(settings)
        return _databases[settings]
