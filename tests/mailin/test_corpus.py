"""Real-world and odd mail through the whole pipeline: Python's own email
test messages and the reply corpus. Nothing may crash and nothing may be
lost: every message ends on a ticket or with a logged reason."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from core.models import Message, Outcome, RawMail
from core.storage import spool
from core.storage.files import Store
from mailin.pipeline import ingest
from tests._shared import mail_corpus


def test_every_corpus_message_is_on_a_ticket_or_logged_with_a_reason(db):
    files = mail_corpus()
    assert len(files) >= 40
    results = [ingest(db, path.read_bytes(), None, (), "file") for path in files]
    store = Store(db.settings.path("store"))
    with db.session() as session:
        raws = session.scalars(select(RawMail).order_by(RawMail.id)).all()
        messages = session.scalar(select(func.count()).select_from(Message).where(Message.raw_mail_id.is_not(None)))
        spooled = [spool.raw_bytes(session, store, raw) for raw in raws]
    assert len(raws) == len(files) == len(results)
    for path, raw, content in zip(files, raws, spooled):
        assert raw.outcome is not None, path.name
        assert raw.ticket_id is not None or raw.reason, path.name
        assert content == path.read_bytes(), path.name
    # Every message's bytes reach the store, as sent, however odd the mail.
    assert spool.move(db, store) == len(files) and spool.spooled(db) == 0
    for path, raw in zip(files, raws):
        assert store.get(raw.sha256) == path.read_bytes(), path.name
    outcomes = Counter(raw.outcome for raw in raws)
    on_tickets = sum(1 for raw in raws if raw.ticket_id is not None and raw.outcome in (
        Outcome.new_ticket, Outcome.appended, Outcome.auto_reply))
    assert messages == on_tickets
    assert sum(outcomes.values()) == len(files)
    # Nearly all of it is ordinary mail: a broad failure would show here.
    assert outcomes[Outcome.new_ticket] + outcomes[Outcome.appended] >= 0.8 * len(files), outcomes
