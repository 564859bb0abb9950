"""A quiet worker log for the polls beat sends every few seconds.

`celery worker -B` at INFO writes, for every task it runs, the beat's
"Sending due task", the worker's "received" and the "succeeded" line: for the
bulk-job poll every 3 seconds, for the move of received mail's bytes into
the store every 5, and for the outbox, the chat and webhook deliveries and the
quarantine's re-process every 10, whether there was work or not. The polls
cannot be rarer without mail and jobs waiting longer, so their idle lines go
to DEBUG instead: only a pass that did something (a result that counts
anything) is logged at INFO. `--loglevel DEBUG` shows them all again.
"""
from __future__ import annotations

import ast
import logging

# The tasks beat sends every few seconds. Each returns a count or a dict of
# counts; a pass whose counts are all 0 found nothing to do.
POLLS = frozenset({"tasks.bulk.run_bulk_jobs", "tasks.outbox.deliver_outbox", "tasks.outbox.deliver_hooks",
                   "tasks.mail.reprocess_quarantined", "tasks.mail.move_raw_spool"})
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


def counts_nothing(logged: str) -> bool:
    """Is a poll's logged result (Celery logs its repr) 0, or a dict of zeros?
    Anything else, or anything unreadable, is a pass worth its INFO line."""
    try:
        value = ast.literal_eval(logged)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    values = value.values() if isinstance(value, dict) else [value]
    return all(type(v) is int and v == 0 for v in values)


def idle(record: logging.LogRecord) -> bool:
    """Is this an INFO line of a poll that says nothing happened? Its beat
    entry and its receipt always are (nothing has run yet); its success line
    is when the result counts nothing."""
    if record.levelno != logging.INFO or _task_of(record) not in POLLS:
        return False
    data = getattr(record, "data", None)
    if isinstance(data, dict) and "return_value" in data:
        return counts_nothing(str(data["return_value"]))
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
