"""Zip bombs by mail, through the real SMTP server on a loopback port: the
bombs are refused (kept listed with the reason) within a small CPU budget,
and a school's ordinary mail sent at the same moment is answered at once."""
from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
from sqlalchemy import select

import mailin.clean
from core.models import Attachment, Outcome, RawMail
from tests.bombs import crowded, nested_bomb, zeros_bomb
from tests.mailin.conftest import transcript
from tests.mailin.mails import OTHER_SCHOOL, SCHOOL, mail, with_parts

OK = [250, 250, 250, 250, 221]
ZIP = "application/zip"


class TimedCheck:
    """mailin.clean's attachment check, with the CPU time of each call noted."""

    def __init__(self, monkeypatch):
        self.real, self.seconds, self.lock = mailin.clean.check, {}, threading.Lock()
        monkeypatch.setattr(mailin.clean, "check", self)

    def __call__(self, filename, content, rules):
        started = time.process_time()
        try:
            return self.real(filename, content, rules)
        finally:
            with self.lock:
                self.seconds[filename] = time.process_time() - started


@pytest.fixture
def timed_check(monkeypatch):
    return TimedCheck(monkeypatch)


def crlf(raw: bytes) -> bytes:
    """with_parts leaves base64 lines ended by LF alone; SMTP wants CRLF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def bomb_mail(sender: str, tag: str) -> bytes:
    """About 19 MB: three 4.7 MB zips of zips that unpack to 4.6 GB each, as in the report."""
    return crlf(with_parts(sender=sender, subject=f"Tugas {tag}", files=[
        (f"tugas-{tag}-{n}.zip", ZIP, nested_bomb()) for n in range(3)]))


def test_zip_bombs_by_mail_are_refused_quickly_while_a_school_mail_is_answered(db, smtp_server, timed_check):
    bombs, ordinary = [bomb_mail(SCHOOL, "a"), bomb_mail(OTHER_SCHOOL, "b")], mail(subject="Rapor tidak muncul")

    def ordinary_session() -> tuple[list[int], float]:
        started = time.monotonic()
        return transcript(smtp_server.port, ordinary), time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        bombing = [pool.submit(transcript, smtp_server.port, raw) for raw in bombs]
        time.sleep(0.3)  # the bombs are on their way (or already being checked) when the school writes
        codes, seconds = pool.submit(ordinary_session).result()
        assert [future.result() for future in bombing] == [OK, OK]
    assert codes == OK and seconds < 5
    assert len(timed_check.seconds) == 6
    assert max(timed_check.seconds.values()) < 2
    with db.session() as session:
        refused = session.scalars(select(Attachment).where(Attachment.refused_reason.is_not(None))).all()
        assert sorted(a.filename for a in refused) == sorted(timed_check.seconds)
        assert all(a.refused_reason.startswith("bagian0.zip in the archive unpacks to ") for a in refused)
        assert {r.outcome for r in session.scalars(select(RawMail))} == {Outcome.new_ticket}


@pytest.mark.parametrize("bomb, reason", [
    (zeros_bomb(), "nol.txt in the archive unpacks to "),
    (crowded(50_000), "the archive holds more than 10,000 files"),
])
def test_other_bombs_are_kept_listed_as_refused_with_the_reason(db, smtp_server, timed_check, bomb, reason):
    raw = crlf(with_parts(files=[("data.zip", ZIP, bomb), ("surat.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")]))
    assert transcript(smtp_server.port, raw) == OK
    assert timed_check.seconds["data.zip"] < 2
    with db.session() as session:
        rows = {a.filename: a.refused_reason for a in session.scalars(select(Attachment))}
    assert rows["surat.pdf"] is None and rows["data.zip"].startswith(reason)
