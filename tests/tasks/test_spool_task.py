"""The raw mail spool's mover as Celery runs it: scheduled by beat, executed by a real worker."""
from __future__ import annotations

import hashlib
import uuid

from celery.contrib.testing.worker import start_worker

from celery_app import SPOOL_EVERY_SECONDS, make_app
from core.storage import spool
from core.storage.files import Store
from mailin.pipeline import ingest
from tasks.mail import move_raw_spool
from tests._shared import wait_for

RAW = (b"From: <sman1@sekolah.test>\r\nTo: helpdesk@helpdesk.test\r\nSubject: Rapor\r\n"
       b"Message-ID: <spool-task@sekolah.test>\r\n\r\nRapor semester belum bisa diunduh.\r\n")


def test_beat_moves_the_spool_every_few_seconds(database):
    entry = make_app(database.settings).conf.beat_schedule["move-raw-spool"]
    assert entry["task"] == move_raw_spool.name == "tasks.mail.move_raw_spool"
    assert entry["schedule"] == SPOOL_EVERY_SECONDS <= 10


def test_a_worker_moves_received_mail_into_the_store(database):
    app = make_app(database.settings)
    app.conf.task_default_queue = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    ingest(database, RAW, "sman1@sekolah.test", ("helpdesk@helpdesk.test",), "smtp")
    assert spool.spooled(database) == 1
    store = Store(database.settings.path("store"))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.tasks[move_raw_spool.name].delay()
        # A worker's start and first task can take tens of seconds on a loaded 2-core machine.
        wait_for(lambda: spool.spooled(database) == 0, timeout=60)
    assert store.get(hashlib.sha256(RAW).hexdigest()) == RAW
