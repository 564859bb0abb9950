"""The sweep as Celery runs it: scheduled by beat, executed by a real worker."""
from __future__ import annotations

import uuid
from datetime import timedelta

from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from celery_app import SWEEP_EVERY_SECONDS, make_app
from core.config.policy import Policy
from core.models import Status, Ticket, utcnow
from core.tickets import lifecycle
from core.tickets.intake import Incoming, customer_office, open_ticket
from tasks.sweep import sweep
from tests._shared import wait_for
from tests.factories import load_directory


def test_beat_sweeps_every_minute(database):
    entry = make_app(database.settings).conf.beat_schedule["sweep"]
    assert entry["task"] == sweep.name == "tasks.sweep.sweep" and entry["schedule"] == SWEEP_EVERY_SECONDS


def test_a_worker_runs_the_sweep_and_auto_closes_a_quiet_answered_ticket(database):
    app = make_app(database.settings)
    app.conf.task_default_queue = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    eight_days_ago = utcnow() - timedelta(days=8)
    with database.begin() as s:
        load_directory(s)
        school = customer_office(s, "sman1@sekolah.test", Policy())
        ticket = open_ticket(s, database.settings, Policy(), Incoming(
            from_address="sman1@sekolah.test", subject="Data", text="Tolong"), school=school, now=eight_days_ago)
        lifecycle.move(s, ticket, Status.answered, now=eight_days_ago)
        ref = ticket.ref
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.tasks[sweep.name].delay()
        # A worker's start and first task can take tens of seconds on a loaded 2-core machine.
        wait_for(lambda: status(database, ref) is Status.closed, timeout=60)


def status(database, ref: str) -> Status:
    with database.session() as s:
        return s.scalars(select(Ticket.status).where(Ticket.ref == ref)).one()
