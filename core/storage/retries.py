"""The retry rule of every queued delivery row: the mail outbox
(core.mail.outbox) and the webhook and chat deliveries (core.hooks.queue)
back off, lease and give up alike. It lives below both so that neither
package imports the other for it."""
from __future__ import annotations

from datetime import datetime, timedelta

from core.models import OutboxStatus

# Waits after the 1st, 2nd, ... failed attempt: ten attempts over about 32 hours,
# so a relay that is down overnight still gets the mail out in the morning.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=30),
           timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), timedelta(hours=8), timedelta(hours=16))
# How long a claimed row is left to its worker. A worker killed mid-delivery
# leaves the lock behind; once it expires the row is due again (at-least-once).
LEASE = timedelta(minutes=5)


def count_failure(row, error: str, now: datetime, *, permanent: bool = False):
    """The attempt counted, the error kept, the next attempt after the next
    backoff step, or failed after the last one (or at once when permanent)."""
    row.attempts += 1
    row.last_error = error[:2000]
    row.locked_until = None
    if permanent or row.attempts > len(BACKOFF):
        row.status = OutboxStatus.failed
    else:
        row.next_attempt_at = now + BACKOFF[row.attempts - 1]
    return row
