"""The Celery app and its beat schedule, configured from core.config.settings.

Broker: HELPDESK_BROKER_URL (redis://... in production), or when it is empty
an embedded broker that needs no server: kombu's filesystem transport in the
data dir. That transport has no broadcast, so remote control is off, and no
task here returns a result, so there is no result backend.

Run: `celery -A celery_app worker` and `celery -A celery_app beat`, or on one
machine `celery -A celery_app worker -B` (the worker with beat inside).
Correctness never depends on a task being sent: every outbox row is picked
up by the periodic pass, so a lost message on the broker costs seconds only.
"""
from __future__ import annotations

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from core.access import redaction
from core.config.settings import Settings, load_settings
from tasks import polls

DELIVER_EVERY_SECONDS = 10.0
SWEEP_EVERY_SECONDS = 60.0
REPROCESS_EVERY_SECONDS = 10.0
# Received mail's bytes wait in the database until this pass moves them to
# the store (core.storage.spool): the database holds a few seconds of mail.
SPOOL_EVERY_SECONDS = 5.0
BULK_EVERY_SECONDS = 3.0
# The store's leftover temporaries (a crash between a write and its rename) are
# removed once a day; the pass lists every file of the store.
STORE_SWEEP_EVERY_SECONDS = 24 * 3600.0


def make_app(settings: Settings) -> Celery:
    app = Celery("helpdesk", include=["tasks.outbox", "tasks.sweep", "tasks.mail", "tasks.bulk"])
    app.conf.update(
        task_acks_late=True,
        task_ignore_result=True,
        result_backend=None,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule_filename=str(settings.path("celerybeat-schedule")),
        beat_schedule={
            "deliver-outbox": {"task": "tasks.outbox.deliver_outbox", "schedule": DELIVER_EVERY_SECONDS,
                               # a pass not picked up before the next one is pointless
                               "options": {"expires": DELIVER_EVERY_SECONDS * 3}},
            "deliver-hooks": {"task": "tasks.outbox.deliver_hooks", "schedule": DELIVER_EVERY_SECONDS,
                              "options": {"expires": DELIVER_EVERY_SECONDS * 3}},
            "sweep": {"task": "tasks.sweep.sweep", "schedule": SWEEP_EVERY_SECONDS,
                      "options": {"expires": SWEEP_EVERY_SECONDS * 2}},
            "reprocess-quarantined": {"task": "tasks.mail.reprocess_quarantined", "schedule": REPROCESS_EVERY_SECONDS,
                                      "options": {"expires": REPROCESS_EVERY_SECONDS * 3}},
            "move-raw-spool": {"task": "tasks.mail.move_raw_spool", "schedule": SPOOL_EVERY_SECONDS,
                               "options": {"expires": SPOOL_EVERY_SECONDS * 3}},
            "sweep-store-temporaries": {"task": "tasks.mail.sweep_store_temporaries",
                                        "schedule": STORE_SWEEP_EVERY_SECONDS,
                                        "options": {"expires": STORE_SWEEP_EVERY_SECONDS / 2}},
            # Bulk jobs over policy.bulk_inline_max tickets wait for this pass;
            # a pass finds each pending job, so a lost message costs seconds.
            # Its idle passes, like the deliveries' and the re-process's,
            # log at DEBUG only (tasks.polls).
            "bulk-jobs": {"task": "tasks.bulk.run_bulk_jobs", "schedule": BULK_EVERY_SECONDS,
                          "options": {"expires": BULK_EVERY_SECONDS * 3}},
        },
    )
    if settings.broker_url:
        app.conf.broker_url = settings.broker_url
    else:
        queue = settings.path("broker", "queue")
        processed = settings.path("broker", "processed")
        # kombu keeps exchange bindings in a "control" folder, by default in
        # the working directory; it belongs with the rest of the broker.
        control = settings.path("broker", "control")
        for folder in (queue, processed, control):
            folder.mkdir(parents=True, exist_ok=True)
        app.conf.update(
            broker_url="filesystem://",
            broker_transport_options={"data_folder_in": str(queue), "data_folder_out": str(queue),
                                      "processed_folder": str(processed), "store_processed": False,
                                      "control_folder": str(control)},
            worker_enable_remote_control=False,
            worker_send_task_events=False,
        )
    app.helpdesk_settings = settings
    return app


@after_setup_logger.connect
@after_setup_task_logger.connect
def mask_secrets_in_logs(logger, **_options) -> None:
    """The worker's and beat's log handlers mask private and reset links, as
    the web's do; and the frequent polls log at INFO only when they ran something."""
    redaction.install(logger)
    polls.install()


def __getattr__(name: str) -> Celery:
    # Built on first use, not at import: importing this module (tests, tools)
    # must not read the environment or create a data dir.
    if name in ("app", "celery"):
        global app
        app = make_app(load_settings())
        return app
    raise AttributeError(name)
