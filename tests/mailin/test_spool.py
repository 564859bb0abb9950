"""A received message's bytes: written with its row, then moved into the
content store by the spool's mover (core.storage.spool), and read from
wherever they are by the quarantine's preview and its re-process."""
from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select, update

from core.mail.quarantine import raw_preview
from core.models import Outcome, RawContent, RawMail
from core.storage import spool
from core.storage.files import Store
from mailin.pipeline import ingest, reprocess
from mailin.spam import SpamVerdict
from tests.factories import raw_of
from tests.mailin.mails import HELPDESK, PDF, SCHOOL, mail, with_parts


def deliver(db, raw: bytes, **kwargs):
    return ingest(db, raw, SCHOOL, (HELPDESK,), "smtp", **kwargs)


def store_of(db) -> Store:
    return Store(db.settings.path("store"))


def spooled_ids(db) -> list[int]:
    with db.session() as session:
        return session.scalars(select(RawContent.raw_mail_id).order_by(RawContent.raw_mail_id)).all()


def test_a_message_is_spooled_with_its_row_and_moved_to_the_store_once(db):
    raws = [mail(subject=f"Rapor {n}", message_id=f"spool{n}@sekolah.test") for n in range(3)]
    ids = [deliver(db, raw).raw_mail_id for raw in raws]
    store = store_of(db)
    assert spooled_ids(db) == ids
    assert not any(store.exists(hashlib.sha256(raw).hexdigest()) for raw in raws)
    assert spool.move(db, store) == 3
    assert spooled_ids(db) == [] and spool.move(db, store) == 0
    for raw_mail_id, raw in zip(ids, raws):
        assert store.get(hashlib.sha256(raw).hexdigest()) == raw
        with db.session() as session:
            assert raw_of(db, session.get(RawMail, raw_mail_id)) == raw


def test_a_mover_stopped_after_writing_the_files_finishes_the_next_time(db):
    """Files put but rows not deleted (the mover died between the two): the
    next pass finds the files there and deletes the rows; nothing doubles."""
    raws = [mail(subject=f"Data {n}", message_id=f"half{n}@sekolah.test") for n in range(2)]
    for raw in raws:
        deliver(db, raw)
    store = store_of(db)
    store.put(raws[0])
    assert spool.move(db, store) == 2 and spool.spooled(db) == 0
    folder = store.path(hashlib.sha256(raws[0]).hexdigest()).parent
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []  # no temporary left
    assert store.get(hashlib.sha256(raws[0]).hexdigest()) == raws[0]


def test_the_same_bytes_delivered_twice_are_spooled_twice_and_stored_once(db):
    raw = mail(message_id="twice@sekolah.test")
    first, again = deliver(db, raw), deliver(db, raw)
    assert again.outcome is Outcome.duplicate
    assert spooled_ids(db) == [first.raw_mail_id, again.raw_mail_id]
    assert spool.move(db, store_of(db)) == 2
    assert store_of(db).get(hashlib.sha256(raw).hexdigest()) == raw


def test_batches_are_bounded_by_rows_and_bytes_and_a_pass_takes_them_all(db, monkeypatch):
    monkeypatch.setattr(spool, "BATCH_ROWS", 2)
    big = with_parts(files=[("jadwal.pdf", "application/pdf", PDF)])
    monkeypatch.setattr(spool, "BATCH_BYTES", len(big) // 2)  # every message alone in its batch
    raws = [mail(subject=f"Batch {n}", message_id=f"batch{n}@sekolah.test") for n in range(4)] + [big]
    for raw in raws:
        deliver(db, raw)
    assert spool.move(db, store_of(db)) == 5 and spool.spooled(db) == 0


def test_bytes_that_do_not_match_their_digest_stay_spooled_and_the_rest_move(db, caplog):
    bad, good = (deliver(db, mail(subject=f"Cek {n}", message_id=f"cek{n}@sekolah.test")).raw_mail_id
                 for n in range(2))
    with db.begin() as session:
        session.execute(update(RawContent).where(RawContent.raw_mail_id == bad).values(content=b"changed"))
    with caplog.at_level(logging.ERROR, "helpdesk.spool"):
        assert spool.move(db, store_of(db)) == 1
    assert spooled_ids(db) == [bad] and f"raw mail {bad}" in caplog.text
    assert good not in spooled_ids(db)


def test_quarantined_mail_is_previewed_and_processed_again_from_the_spool_and_from_the_store(db):
    """rspamd asked for a human: staff release each message, one while its
    bytes are spooled and one after they moved into the store."""
    verdict = SpamVerdict(action="add header", score=9.0)
    raws = [mail(subject=f"Karantina {n}", message_id=f"karantina{n}@sekolah.test") for n in range(2)]
    spooled, moved = (deliver(db, raw, spam=verdict) for raw in raws)
    assert spooled.outcome is moved.outcome is Outcome.quarantined
    _move_only(db, moved.raw_mail_id)
    assert spooled_ids(db) == [spooled.raw_mail_id]
    for result, raw in ((spooled, raws[0]), (moved, raws[1])):
        with db.session() as session:
            headers, text = raw_preview(session, db.settings, session.get(RawMail, result.raw_mail_id))
        assert ("Subject", raw.split(b"Subject: ")[1].split(b"\r\n")[0].decode()) in headers
        assert text == raw.decode()
        assert reprocess(db, result.raw_mail_id).outcome is Outcome.new_ticket


def _move_only(db, raw_mail_id: int) -> None:
    """One message moved as the mover moves it, the others left spooled."""
    with db.session() as session:
        row = session.get(RawMail, raw_mail_id)
        content = session.get(RawContent, raw_mail_id).content
    assert store_of(db).put(content) == row.sha256
    with db.begin() as session:
        session.delete(session.get(RawContent, raw_mail_id))
