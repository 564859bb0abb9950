"""The raw mail spool's mover as Celery runs it: scheduled by beat, executed by a real worker."""
from __future__ import annotations

import hashlib
import os
import threading
import uuid

from celery.contrib.testing.worker import start_worker
from sqlalchemy import Engine, event

from celery_app import SPOOL_EVERY_SECONDS, make_app
from core.storage import spool
from core.storage.files import Store
from mailin.pipeline import ingest
from tasks.mail import move_raw_spool
from tasks.priority import NICENESS
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


def test_the_mover_reads_and_stores_at_low_priority_and_deletes_at_its_own(database):
    """The delete holds the database's write lock, which the mail servers'
    writer waits for: it runs at the worker's priority, not in the niced
    thread that reads the bytes and writes the files."""
    app = make_app(database.settings)
    ingest(database, RAW, "sman1@sekolah.test", ("helpdesk@helpdesk.test",), "smtp")
    priorities = []  # (statement's first word, the nice value of the thread that ran it)
    listen = lambda conn, cursor, statement, *args: priorities.append(  # noqa: E731
        (statement.split()[0].upper(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    event.listen(Engine, "before_cursor_execute", listen)  # the task's engine is its own
    try:
        assert app.tasks[move_raw_spool.name].apply().get() == 1
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    deletes = {nice for word, nice in priorities if word == "DELETE"}
    reads = {nice for word, nice in priorities if word == "SELECT"}
    assert deletes == {own} and reads == {min(19, own + NICENESS)}
    assert spool.spooled(database) == 0
