"""The daily sweep of the store's leftover temporaries, as Celery runs it."""
from __future__ import annotations

import os
import time

from celery_app import STORE_SWEEP_EVERY_SECONDS, make_app
from core.storage.files import Store
from tasks.mail import STORE_TEMPORARY_MAX_AGE_SECONDS, sweep_store_temporaries


def test_beat_sweeps_the_store_once_a_day(database):
    entry = make_app(database.settings).conf.beat_schedule["sweep-store-temporaries"]
    assert entry["task"] == sweep_store_temporaries.name == "tasks.mail.sweep_store_temporaries"
    assert entry["schedule"] == STORE_SWEEP_EVERY_SECONDS == 24 * 3600


def test_the_task_removes_a_temporary_a_day_old_and_keeps_what_is_stored(database):
    app = make_app(database.settings)
    store = Store(database.settings.path("store"))
    digest = store.put(b"Rapor semester ganjil")
    left = store.root / digest[:2] / f".{'ab' * 32}.99.0123456789abcdef.tmp"
    left.write_bytes(b"half")
    past = time.time() - STORE_TEMPORARY_MAX_AGE_SECONDS - 60
    os.utime(left, (past, past))

    assert app.tasks[sweep_store_temporaries.name].apply().get() == 1
    assert not left.exists() and store.get(digest) == b"Rapor semester ganjil"
