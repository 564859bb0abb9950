"""Quarantined mail an admin asked to process again (core.mail.quarantine marks
it; the portal never runs the pipeline in a web process): one pass takes
every marked message through the same pipeline as SMTP and IMAP."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from core.mail.quarantine import reprocess_done, reprocess_requests
from core.models import utcnow
from core.storage.db import Database
from core.storage.writelock import writing
from mailin.inbound import AlreadyProcessed, TemporaryFailure
from mailin.pipeline import reprocess

log = logging.getLogger("helpdesk.quarantine")


@dataclass
class Pass:
    done: int = 0
    still_quarantined: int = 0
    retry_later: int = 0


def reprocess_requested(db: Database, limit: int = 50) -> Pass:
    """Process the marked messages; a temporary failure leaves the mark for the next pass."""
    started = utcnow()
    with writing(db), db.begin() as session:
        waiting = reprocess_requests(session, limit, now=started)
    result = Pass()
    for raw_id in waiting:
        try:
            outcome = reprocess(db, raw_id).outcome.value
        except TemporaryFailure as failure:
            log.warning("raw mail %d: reprocess postponed: %s", raw_id, failure)
            result.retry_later += 1
            continue
        except (AlreadyProcessed, LookupError) as gone:
            outcome = f"skipped ({gone})"
        log.info("raw mail %d processed again: %s", raw_id, outcome)
        with writing(db), db.begin() as session:
            reprocess_done(session, raw_id, asked_by=started)
        if outcome == "quarantined":
            result.still_quarantined += 1
        else:
            result.done += 1
    return result
