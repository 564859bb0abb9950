from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from core.mail import outbox
from core.models import Outbox, OutboxStatus, utcnow
from core.storage import retries

NOW = utcnow()


def queue(session, settings, n: int) -> list[Outbox]:
    rows = [outbox.enqueue(session, settings, template="ack", to=f"s{i}@sekolah.test", now=NOW) for i in range(n)]
    session.flush()
    return rows


def test_enqueue_fixes_a_message_id_of_our_domain(session, settings):
    [row] = queue(session, settings, 1)
    assert row.message_id.startswith("<HD-NOTICE.") and row.message_id.endswith("@helpdesk.test>")
    assert row.status is OutboxStatus.pending and row.attempts == 0


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(session, settings):
    rows = queue(session, settings, 3)
    assert outbox.claim_due(session, NOW, limit=2) == [rows[0].id, rows[1].id]
    assert outbox.claim_due(session, NOW) == [rows[2].id]
    assert outbox.claim_due(session, NOW) == []
    assert len(outbox.claim_due(session, NOW + retries.LEASE)) == 3


def test_a_failed_attempt_waits_for_the_next_backoff_step(session, settings):
    [row] = queue(session, settings, 1)
    outbox.claim_due(session, NOW)
    outbox.mark_failed(session, row.id, "451 try later", NOW)
    assert (row.attempts, row.next_attempt_at, row.locked_until) == (1, NOW + timedelta(minutes=1), None)
    assert outbox.claim_due(session, NOW + timedelta(seconds=59)) == []
    assert outbox.claim_due(session, NOW + timedelta(minutes=1)) == [row.id]


def test_sent_rows_are_never_due_again(session, settings):
    rows = queue(session, settings, 2)
    outbox.mark_sent(session, [r.id for r in rows], NOW)
    session.expire_all()
    assert {r.status for r in session.scalars(select(Outbox))} == {OutboxStatus.sent}
    assert outbox.claim_due(session, NOW + timedelta(days=9)) == []


def test_concurrent_claims_never_share_a_row(database):
    with database.begin() as s:
        queue(s, database.settings, 60)
    claimed: list[list[int]] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            with database.begin() as s:
                ids = outbox.claim_due(s, NOW, limit=4)
            with lock:
                claimed.append(ids)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in claimed for i in ids]
    assert len(every) == len(set(every)) == 60
