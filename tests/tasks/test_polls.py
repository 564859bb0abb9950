"""The worker's log at INFO: the polls beat sends every few seconds (bulk
jobs, outbox, hooks, the quarantine's re-process) show only the passes that
did work. Through Celery's own log calls, then a
real `celery worker -B` process."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import celery.app.trace as trace
import celery.beat as beat
import pytest

from core.tickets import bulk
from tasks import polls
from tests.core.tickets.waves_world import build_wave

ROOT = Path(__file__).resolve().parents[2]
BULK = "tasks.bulk.run_bulk_jobs"


def emit(task: str, result: str) -> None:
    """The three INFO lines Celery writes for one pass of `task`, as it writes them."""
    beat.info("Scheduler: Sending due task %s (%s)", "entry", task)
    received = {"id": "1", "name": task, "args": "()", "kwargs": "{}", "eta": None}
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, received, extra={"data": received})
    trace.info(trace.LOG_SUCCESS, {"id": "1", "name": task, "return_value": result, "runtime": 0.01,
                                   "args": "()", "kwargs": "{}"})


@pytest.fixture
def installed():
    polls.install()
    polls.install()  # twice, as a worker with beat inside sets up logging twice
    yield
    for name in polls.LOGGERS:
        for found in [f for f in logging.getLogger(name).filters if isinstance(f, polls.QuietPolls)]:
            logging.getLogger(name).removeFilter(found)


def test_an_idle_bulk_poll_logs_nothing_at_info_and_a_pass_that_ran_a_job_logs_its_result(installed, caplog):
    caplog.set_level(logging.INFO)
    emit(BULK, "0")
    assert caplog.messages == []
    emit(BULK, "2")
    assert [m for m in caplog.messages if BULK in m] == [f"Task {BULK}[1] succeeded in 0.01s: 2"]
    caplog.clear()
    emit("tasks.sweep.sweep", "{'closed': 0}")  # other tasks log as before
    assert len(caplog.messages) == 3


@pytest.mark.parametrize("task, idle_result, busy_result", [
    ("tasks.outbox.deliver_outbox", "{'sent': 0, 'retrying': 0, 'failed': 0}",
     "{'sent': 2, 'retrying': 0, 'failed': 0}"),
    ("tasks.outbox.deliver_hooks", "{'sent': 0, 'retrying': 0, 'failed': 0}",
     "{'sent': 0, 'retrying': 1, 'failed': 0}"),
    ("tasks.mail.reprocess_quarantined", "{'done': 0, 'still_quarantined': 0, 'retry_later': 0}",
     "{'done': 0, 'still_quarantined': 1, 'retry_later': 0}"),
])
def test_the_ten_second_polls_log_at_info_only_the_passes_that_did_work(installed, caplog, task, idle_result,
                                                                         busy_result):
    caplog.set_level(logging.INFO)
    emit(task, idle_result)
    assert caplog.messages == []
    emit(task, busy_result)
    assert [m for m in caplog.messages if task in m] == [f"Task {task}[1] succeeded in 0.01s: {busy_result}"]


def test_a_result_that_is_not_a_plain_count_is_logged():
    assert polls.counts_nothing("0") and polls.counts_nothing("{'sent': 0}")
    for logged in ("1", "{'sent': 0, 'failed': 1}", "None", "False", "'0'", "<object at 0x1>", "{'a': {'b': 0}}"):
        assert not polls.counts_nothing(logged), logged


def test_at_debug_the_idle_polls_show_again_as_debug_lines(installed, caplog):
    caplog.set_level(logging.DEBUG)
    emit(BULK, "0")
    assert [r.levelname for r in caplog.records] == ["DEBUG"] * 3


def test_a_real_worker_logs_the_bulk_poll_only_for_the_pass_that_ran_the_job(database):
    with database.begin() as s:
        wave = build_wave(s, database.settings, 3)
        bulk.create_job(s, wave.agent, [t.ref for t in wave.tickets],
                        bulk.BulkAction("reply", "answered", "Layanan sudah pulih."))
    s = database.settings
    env = {**os.environ, "HELPDESK_DATA_DIR": str(s.data_dir), "HELPDESK_DATABASE_URL": s.database_url,
           "HELPDESK_SECRET_KEY": s.secret_key, "HELPDESK_BROKER_URL": ""}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_app", "worker", "-B", "--loglevel",
                               "INFO", "--pool", "solo"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(f"{BULK}[" in ln and "succeeded" in ln for ln in lines):
            time.sleep(0.2)
        time.sleep(3 * 2.5)  # two more polls, both idle
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    logged = [line for line in lines if line.startswith("[")]  # past the start-up banner
    bulk_lines = [line for line in logged if "run_bulk_jobs" in line or "bulk-jobs" in line]
    assert len(bulk_lines) == 1 and bulk_lines[0].rstrip().endswith(": 1"), lines
    assert any("ready." in line for line in logged)  # INFO is on
    # An outbox pass that sent the job's replies may be logged (if it came in time); no idle one is.
    outbox = [line for line in logged if "deliver_outbox" in line or "deliver-outbox" in line]
    assert all(line.rstrip().endswith("s: {'sent': 3, 'retrying': 0, 'failed': 0}") for line in outbox), outbox
    assert not any(name in line for line in logged for name in ("deliver_hooks", "deliver-hooks", "reprocess"))
