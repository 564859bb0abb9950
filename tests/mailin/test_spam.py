"""The front door: rspamd's verdict (the real rspamd, and a stand-in for
the verdicts a test cannot make it give at will) and the admins' ban and
allow lists, over real SMTP sessions."""
from __future__ import annotations

import http.server
import json
import smtplib
import threading
from dataclasses import replace

import pytest
from sqlalchemy import select

from core.mail.senders import BadPattern, add_rule, candidates, normalise, rule_for
from core.models import RawMail, SenderRuleKind, Ticket, User
from core.storage.db import Database
from mailin.pipeline import reprocess
from mailin.smtpd import BackgroundServer
from tests.mailout.relay import free_port
from tests.rspamd import GTUBE, rspamd  # noqa: F401  (the fixture)

CLEAN = (b"From: Operator SMAN 1 <sman1@sekolah.test>\r\nTo: helpdesk@helpdesk.test\r\n"
         b"Subject: Dapodik tidak bisa login\r\nMessage-ID: <clean1@sekolah.test>\r\n"
         b"Date: Tue, 24 Nov 2026 08:00:00 +0700\r\n\r\n"
         b"Selamat pagi, operator kami tidak bisa login ke Dapodik sejak kemarin. Mohon bantuan.\r\n")


def spam_mail(sender: bytes = b"sman1@sekolah.test") -> bytes:
    return (b"From: " + sender + b"\r\nTo: helpdesk@helpdesk.test\r\nSubject: Penawaran\r\n"
            b"Message-ID: <spam1@sekolah.test>\r\n\r\n" + GTUBE.encode() + b"\r\n")


class Session:
    """One SMTP session's replies: (code, text) for RCPT and DATA."""

    def __init__(self, port: int, raw: bytes, mail_from: str = "sman1@sekolah.test"):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
            client.ehlo("client.test")
            client.mail(mail_from)
            self.rcpt = client.rcpt("helpdesk@helpdesk.test")
            self.data = client.data(raw) if self.rcpt[0] == 250 else None


def served(db: Database, **changes):
    return BackgroundServer(Database(replace(db.settings, **changes))).start()


def raw_mails(db: Database) -> list[RawMail]:
    with db.session() as s:
        return list(s.scalars(select(RawMail).order_by(RawMail.id)))


@pytest.mark.rspamd
def test_gtube_is_refused_at_data_and_a_clean_mail_passes(db, rspamd):
    server = served(db, rspamd_url=rspamd.url)
    try:
        refused = Session(server.port, spam_mail())
        taken = Session(server.port, CLEAN)
    finally:
        server.stop()
    assert refused.rcpt[0] == 250
    assert refused.data[0] == 550 and b"refused as spam" in refused.data[1]
    assert taken.data[0] == 250
    [raw] = raw_mails(db)  # the refused mail is the sender's to keep, not ours
    assert raw.outcome == "new_ticket" and raw.spam_action == "no action"
    assert raw.spam_score is not None and raw.spam_score < 6


class StandIn(http.server.BaseHTTPRequestHandler):
    """rspamd's /checkv2 answering what the test says; it remembers the
    envelope headers it was given."""
    answer: dict = {}
    delay = threading.Event()
    seen: list[dict] = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(self.headers)  # looked up without regard to case
        if self.answer.get("hang"):
            self.delay.wait(5)
        body = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the server under test gave up waiting, as it should

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    StandIn.seen, StandIn.answer = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    StandIn.delay.set()
    server.shutdown()
    server.server_close()
    StandIn.delay.clear()


@pytest.mark.parametrize("action", ["add header", "rewrite subject", "soft reject"])
def test_probable_spam_is_quarantined_with_its_verdict(db, stand_in, action):
    StandIn.answer = {"action": action, "score": 7.5}
    server = served(db, rspamd_url=stand_in)
    try:
        session = Session(server.port, CLEAN)
    finally:
        server.stop()
    assert session.data[0] == 250
    [raw] = raw_mails(db)
    assert (raw.outcome, raw.spam_action, raw.spam_score) == ("quarantined", action, 7.5)
    assert raw.reason == f"spam: rspamd {action}, score 7.50"
    assert StandIn.seen[0]["IP"] == "127.0.0.1" and StandIn.seen[0]["Helo"] == "client.test"
    assert StandIn.seen[0]["From"] == "sman1@sekolah.test" and StandIn.seen[0]["Rcpt"] == "helpdesk@helpdesk.test"
    with db.session() as s:
        assert s.scalar(select(Ticket.id)) is None


def test_released_spam_goes_through_without_being_scored_again(db, stand_in):
    StandIn.answer = {"action": "add header", "score": 7.5}
    server = served(db, rspamd_url=stand_in)
    try:
        Session(server.port, CLEAN)
    finally:
        server.stop()
    [raw] = raw_mails(db)
    result = reprocess(Database(replace(db.settings, rspamd_url=stand_in)), raw.id)
    assert result.outcome == "new_ticket"
    assert len(StandIn.seen) == 1


def test_rspamd_down_or_slow_leaves_the_mail_unscored_and_taken(db, stand_in, caplog):
    StandIn.answer = {"hang": True, "action": "reject", "score": 99}
    slow = served(db, rspamd_url=stand_in, rspamd_timeout=0.5)
    try:
        assert Session(slow.port, CLEAN).data[0] == 250
    finally:
        slow.stop()
    down = served(db, rspamd_url=f"http://127.0.0.1:{free_port()}")
    try:
        assert Session(down.port, CLEAN.replace(b"clean1@", b"clean2@")).data[0] == 250
    finally:
        down.stop()
    assert [(r.outcome, r.spam_action) for r in raw_mails(db)] == [("new_ticket", None)] * 2
    assert sum("gave no verdict" in record.getMessage() for record in caplog.records) == 2


def admin(db: Database) -> User:
    with db.session() as s:
        return s.scalar(select(User).where(User.role == "admin"))


def rule(db: Database, kind: SenderRuleKind, pattern: str, reason: str = "") -> None:
    with db.begin() as s:
        add_rule(s, admin(db), kind, pattern, reason)


def test_banned_envelope_sender_is_refused_at_rcpt(db):
    rule(db, SenderRuleKind.ban, "sekolah.test", "flooding the helpdesk")
    rule(db, SenderRuleKind.allow, "sman2@sekolah.test")
    server = served(db)
    try:
        banned = Session(server.port, CLEAN)
        allowed = Session(server.port, CLEAN.replace(b"sman1@", b"sman2@"), mail_from="sman2@sekolah.test")
    finally:
        server.stop()
    assert banned.rcpt == (550, b"5.7.1 Sender <sman1@sekolah.test> is not accepted here: flooding the helpdesk")
    assert banned.data is None
    assert allowed.data[0] == 250


def test_banned_header_from_is_refused_at_data(db):
    rule(db, SenderRuleKind.ban, "@spam.example", "phishing")
    server = served(db)
    try:
        session = Session(server.port, CLEAN.replace(b"<sman1@sekolah.test>", b"<boss@mail.spam.example>"))
    finally:
        server.stop()
    assert session.rcpt[0] == 250
    assert session.data == (550, b"5.7.1 Sender <boss@mail.spam.example> is not accepted here: phishing")
    assert raw_mails(db) == []


def test_allowed_sender_skips_the_spam_verdict(db, stand_in):
    rule(db, SenderRuleKind.allow, "sekolah.test", "our schools")
    StandIn.answer = {"action": "reject", "score": 20}
    server = served(db, rspamd_url=stand_in)
    try:
        assert Session(server.port, CLEAN).data[0] == 250
    finally:
        server.stop()
    assert [(r.outcome, r.spam_action) for r in raw_mails(db)] == [("new_ticket", None)]
    assert StandIn.seen == []


def test_rules_match_address_then_nearest_domain(db):
    rule(db, SenderRuleKind.ban, "example.org")
    rule(db, SenderRuleKind.allow, "Good@Example.org")
    assert rule_for(db, "good@example.org").kind is SenderRuleKind.allow
    assert rule_for(db, "bad@mail.example.org").kind is SenderRuleKind.ban
    assert rule_for(db, "x@example.net") is None and rule_for(db, None) is None
    assert candidates("a@b.c.d") == ["a@b.c.d", "b.c.d", "c.d"]
    rule(db, SenderRuleKind.allow, "example.org", "changed our mind")
    assert rule_for(db, "bad@example.org").reason == "changed our mind"
    for bad in ("", "not an address", "a@b", "@", "x@-bad-.org"):
        with pytest.raises(BadPattern):
            normalise(bad)


def test_a_rule_is_read_once_per_mail_transaction(db):
    """The envelope sender's rule read at RCPT serves the same header From at
    DATA; the next transaction, on the same connection, reads it again."""
    server = served(db)
    try:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as client:
            client.ehlo("client.test")
            client.mail("sman1@sekolah.test")
            assert client.rcpt("helpdesk@helpdesk.test")[0] == 250
            rule(db, SenderRuleKind.ban, "sekolah.test", "banned between RCPT and DATA")
            taken = client.data(CLEAN)
            client.mail("sman1@sekolah.test")
            refused = client.rcpt("helpdesk@helpdesk.test")
    finally:
        server.stop()
    assert taken[0] == 250
    assert refused == (550, b"5.7.1 Sender <sman1@sekolah.test> is not accepted here: banned between RCPT and DATA")


def test_a_rule_read_at_rcpt_is_not_taken_for_another_header_from(db):
    rule(db, SenderRuleKind.ban, "spam.example", "phishing")
    seen: dict = {}
    assert rule_for(db, "Sman1@Sekolah.test ", seen) is None
    assert seen == {"sman1@sekolah.test": None}
    assert rule_for(db, "boss@spam.example", seen).reason == "phishing"
