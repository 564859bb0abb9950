"""A quiet worker log for the polls beat sends every few seconds.

`celery worker -B` at INFO writes, for every task it runs, the beat's
"Sending due task", the worker's "received" and the "succeeded" line: for the
bulk-job poll, every 3 seconds, whether a job was waiting or not. The poll
cannot be rarer without a job waiting longer to start, so its idle lines go
to DEBUG instead: only a pass that ran a job (a result other than 0) is
logged at INFO. `--loglevel DEBUG` shows them all again.
"""
from __future__ import annotations

import logging

# Task name -> the logged result (its repr) of a pass that found nothing to do.
IDLE_RESULTS = {"tasks.bulk.run_bulk_jobs": "0"}
# Celery's loggers of the three lines (beat, the worker's receipt, the task's trace).
LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def _task_of(record: logging.LogRecord) -> str | None:
    """The task a record of one of LOGGERS is about: the trace and the
    receipt carry their context in `data`; beat logs (entry name, task name)."""
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        return data.get("name")
    if record.name == "celery.beat" and isinstance(record.args, tuple) and len(record.args) == 2:
        return record.args[1]
    return None


def idle(record: logging.LogRecord) -> bool:
    """Is this an INFO line of a poll that says nothing happened? Its beat
    entry and its receipt always are (nothing has run yet); its success line
    is when the result is the poll's idle one."""
    task = _task_of(record)
    if record.levelno != logging.INFO or task not in IDLE_RESULTS:
        return False
    data = getattr(record, "data", None)
    if isinstance(data, dict) and "return_value" in data:
        return str(data["return_value"]) == IDLE_RESULTS[task]
    return True


class QuietPolls(logging.Filter):
    """Turns an idle poll's INFO line into a DEBUG one: kept only where the
    logger is enabled for DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not idle(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def install() -> None:
    """Put the filter on Celery's loggers once (worker and beat set up logging
    more than once in one process)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietPolls) for f in logger.filters):
            logger.addFilter(QuietPolls())
