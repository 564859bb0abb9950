"""A real Celery worker (in a thread) on the embedded filesystem broker, or on
Redis when HELPDESK_BROKER_URL names one, delivering outbox rows to a real relay."""
from __future__ import annotations

import email
import uuid
from dataclasses import replace
from email import policy as email_policy

from celery.contrib.testing.worker import start_worker

from celery_app import DELIVER_EVERY_SECONDS, make_app
from core.storage.db import Database
from tasks.outbox import deliver_outbox
from tests._shared import wait_for
from tests.conftest import make_settings
from tests.factories import load_directory
from tests.mailout.world import open_with_ack


def test_a_worker_delivers_queued_acks_when_nudged(database, relay):
    settings = replace(database.settings, smtp_relay=relay.address)
    app = make_app(settings)
    # Runs sharing one Redis must not take each other's tasks.
    app.conf.task_default_queue = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    db = Database(settings)
    with db.begin() as s:
        load_directory(s)
        refs = {open_with_ack(s, settings, message_id=f"<w{i}@sekolah.test>").ref for i in range(3)}
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.tasks[deliver_outbox.name].delay()
        wait_for(lambda: len(relay.messages) == 3)
    subjects = [email.message_from_bytes(m.data, policy=email_policy.default)["Subject"] for m in relay.messages]
    assert {subject[1:10] for subject in subjects} == refs


def test_beat_runs_a_delivery_pass_every_few_seconds(tmp_path):
    app = make_app(make_settings(tmp_path, "sqlite://", broker_url="redis://127.0.0.1:6379/0"))
    entry = app.conf.beat_schedule["deliver-outbox"]
    assert entry["task"] == deliver_outbox.name == "tasks.outbox.deliver_outbox"
    assert entry["schedule"] == DELIVER_EVERY_SECONDS <= 10


def test_the_embedded_broker_lives_in_the_data_dir_and_needs_no_server(tmp_path):
    app = make_app(make_settings(tmp_path, "sqlite://", broker_url=""))
    assert app.conf.broker_url == "filesystem://"
    options = app.conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "broker" / "queue")
    assert app.conf.worker_enable_remote_control is False
    assert app.conf.beat_schedule_filename == str(tmp_path / "celerybeat-schedule")

