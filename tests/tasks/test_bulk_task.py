"""A bulk job too large for a request, run by a real worker as beat sends it."""
from __future__ import annotations

import os
import sys
import threading
import uuid

import pytest

from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from celery_app import BULK_EVERY_SECONDS, make_app
from core.models import BulkJob, JobStatus, Outbox
from core.tickets import bulk
from tasks.bulk import niceness_for, run_bulk_jobs
from tasks.priority import NICENESS, at_low_priority
from tests._shared import wait_for
from tests.core.tickets.waves_world import build_wave


def test_beat_looks_for_bulk_jobs_every_few_seconds(database):
    entry = make_app(database.settings).conf.beat_schedule["bulk-jobs"]
    assert entry["task"] == run_bulk_jobs.name == "tasks.bulk.run_bulk_jobs" and entry["schedule"] == BULK_EVERY_SECONDS


def test_a_worker_runs_a_pending_bulk_reply_and_records_its_report(database):
    app = make_app(database.settings)
    app.conf.task_default_queue = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    with database.begin() as s:
        wave = build_wave(s, database.settings, 12)
        job = bulk.create_job(s, wave.agent, [t.ref for t in wave.tickets] + [wave.sibling.ref],
                              bulk.BulkAction("reply", "answered", "Layanan sudah pulih."))
        job_id, sibling = job.id, wave.sibling.ref
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.tasks[run_bulk_jobs.name].delay()
        wait_for(lambda: finished(database, job_id))
    with database.session() as s:
        job = s.get(BulkJob, job_id)
        assert (job.status, job.done, job.refused) == (JobStatus.done, 13, 1)
        assert bulk.refused_of(job) == [(sibling, bulk.NOT_VISIBLE)]
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.template == "staff_reply")) == 12


def finished(database, job_id: int) -> bool:
    with database.session() as s:
        return s.get(BulkJob, job_id).status in (JobStatus.done, JobStatus.failed)


@pytest.mark.skipif(sys.platform != "linux", reason="the nice value belongs to the thread on Linux only")
def test_a_bulk_job_runs_in_a_thread_at_lower_priority_and_the_worker_keeps_its_own():
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = at_low_priority(lambda: (threading.get_native_id(),
                                    os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    assert seen[0] != threading.get_native_id() and seen[1] == min(19, own + NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_an_error_in_the_bulk_job_reaches_the_task():
    def fail() -> None:
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError, match="database gone"):
        at_low_priority(fail)


def test_a_job_that_rests_keeps_the_worker_s_priority_and_one_that_does_not_runs_lower():
    assert niceness_for(1.0) == NICENESS
    assert niceness_for(0.5) == 0
