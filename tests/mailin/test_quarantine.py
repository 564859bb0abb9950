"""Quarantined mail an admin asked to process again, as the periodic task does it."""
from __future__ import annotations

from sqlalchemy import func, select

from core.mail.quarantine import request_reprocess
from core.models import Event, Outcome, RawMail, Role
from core.storage.files import Store
from mailin.quarantine import reprocess_requested
from tests.factories import load_directory, make_user

GOOD = (b"From: <sman1@sekolah.test>\r\nTo: helpdesk@helpdesk.test\r\nSubject: Rapor\r\n"
        b"Message-ID: <rq1@sekolah.test>\r\n\r\nRapor semester belum bisa diunduh.\r\n")


def quarantine(database, content: bytes, reason: str = "parser crashed") -> int:
    sha = Store(database.settings.path("store")).put(content)
    with database.begin() as s:
        raw = RawMail(channel="smtp", envelope_from="sman1@sekolah.test", sha256=sha, size=len(content),
                      outcome=Outcome.quarantined, reason=reason)
        s.add(raw)
        s.flush()
        return raw.id


def test_only_marked_mail_is_processed_again_and_asking_twice_is_one_request(database):
    with database.begin() as s:
        admin = make_user(s, load_directory(s)["MIN"], Role.admin)
        admin_id = admin.id
    marked, left = quarantine(database, GOOD), quarantine(database, GOOD.replace(b"rq1", b"rq2"))
    with database.begin() as s:
        admin = s.get(type(admin), admin_id)
        request_reprocess(s, admin, marked)
        request_reprocess(s, admin, marked)
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "quarantine_reprocess")) == 1

    assert reprocess_requested(database).done == 1
    assert reprocess_requested(database).done == 0  # the mark is gone
    with database.session() as s:
        assert s.get(RawMail, marked).outcome is Outcome.new_ticket
        assert s.get(RawMail, left).outcome is Outcome.quarantined


def test_mail_that_fails_again_stays_quarantined_with_its_new_reason(database):
    raw_id = quarantine(database, b"From: helpdesk@helpdesk.test\r\nSubject: loop\r\n\r\nx\r\n")
    with database.begin() as s:
        request_reprocess(s, make_user(s, load_directory(s)["MIN"], Role.admin), raw_id)
    done = reprocess_requested(database)
    assert (done.done, done.still_quarantined) == (0, 1)
    with database.session() as s:
        raw = s.get(RawMail, raw_id)
        assert raw.outcome is Outcome.quarantined and "own address" in raw.reason
        assert raw.reprocess_requested_at is None
