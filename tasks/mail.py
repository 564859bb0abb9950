"""Inbound mail tasks: thin, they own nothing but the call."""
from __future__ import annotations

from celery import shared_task

from core.storage import spool
from core.storage.files import Store
from mailin.quarantine import reprocess_requested
from tasks.databases import database_of
from tasks.priority import at_low_priority

# A pass moves for at most this long; the next picks up where it stopped.
SPOOL_PASS_SECONDS = 20.0


@shared_task(bind=True, acks_late=True, ignore_result=True)
def reprocess_quarantined(self) -> dict:
    """Quarantined mail an admin asked to process again; beat sends it every few seconds."""
    done = reprocess_requested(database_of(self.app))
    return {"done": done.done, "still_quarantined": done.still_quarantined, "retry_later": done.retry_later}


@shared_task(bind=True, acks_late=True, ignore_result=True)
def move_raw_spool(self) -> int:
    """Received mail's bytes from the database into the content store
    (core.storage.spool); beat sends it every few seconds. Its reads and file
    writes run at a lower CPU priority (tasks.priority): under a wave of mail
    the SMTP side comes first, and the store catches up in the quiet after
    it. Its deletes, which hold the database's write lock, do not."""
    db = database_of(self.app)
    return spool.move(db, Store(db.settings.path("store")), seconds=SPOOL_PASS_SECONDS,
                      storing=lambda work: at_low_priority(work, name="raw-spool"))


# A temporary file of the store is left only by a crash between its write and
# its rename; one this old is nobody's (core.storage.files.Store.sweep_temporaries).
STORE_TEMPORARY_MAX_AGE_SECONDS = 24 * 3600.0


@shared_task(bind=True, acks_late=True, ignore_result=True)
def sweep_store_temporaries(self) -> int:
    """Remove the store's temporary files that a crash left behind; beat sends
    it once a day. It lists every file of the store, so it runs at a lower
    CPU priority (tasks.priority)."""
    db = database_of(self.app)
    store = Store(db.settings.path("store"))
    return at_low_priority(lambda: store.sweep_temporaries(STORE_TEMPORARY_MAX_AGE_SECONDS), name="store-sweep")
