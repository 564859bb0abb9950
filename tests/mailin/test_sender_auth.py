"""Sender authentication through the real SMTP server on a loopback port,
with a local DNS server (tests.dnsserver) publishing the records each case
needs: the verdict recorded on the raw mail, and what it decides (ticket,
quarantine, acknowledgement)."""
from __future__ import annotations

import json
import smtplib
from dataclasses import replace
from datetime import timedelta

import dkim
import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from core.mail.log import mail_log
from core.models import Message, Outbox, OutboxStatus, Outcome, RawMail, Ticket, utcnow
from core.queries.export import export_tickets
from mailin.pipeline import ingest
from mailin.quarantine import reprocess_requested
from mailin.smtpd import BackgroundServer
from tests.dnsserver import make_dkim_key
from tests.mailin.conftest import transcript
from tests.mailin.mails import SCHOOL, mail

OK = [250, 250, 250, 250, 221]
STRANGER = "budi@luar.test"   # a sender the directory does not know
SPF = {"pass": "v=spf1 ip4:127.0.0.1 -all", "fail": "v=spf1 -all", "softfail": "v=spf1 ~all", "none": None}


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


def signed(raw: bytes, key, domain: str = "luar.test", selector: str = "s1") -> bytes:
    """The mail with a DKIM-Signature of `domain`, made by dkimpy."""
    header = dkim.sign(raw, selector.encode(), domain.encode(), key.private_pem,
                       canonicalize=(b"relaxed", b"relaxed"), include_headers=[b"from", b"to", b"subject"])
    return header + raw


def publish(dns, domain: str, *, spf: str, dmarc: str | None, key=None) -> None:
    if SPF[spf]:
        dns.txt(domain, SPF[spf])
    if dmarc:
        dns.txt(f"_dmarc.{domain}", dmarc)
    if key is not None:
        dns.txt(f"s1._domainkey.{domain}", key.record)


def one(db, model):
    with db.session() as session:
        return session.scalars(select(model)).one()


def outbox(db) -> list[tuple[str, str, OutboxStatus]]:
    """The mails queued for the sender (staff's own notices left out)."""
    with db.session() as session:
        return [(row.template, row.to_address, row.status) for row in session.scalars(select(Outbox))
                if not row.to_address.endswith(("@kemdik.test", "@helpdesk.test"))]


# (spf, dkim: valid|broken|absent, DMARC record) -> (spf, dkim, dmarc results, outcome, acknowledged)
MATRIX = [
    ("pass", "absent", None, ("pass", "none", "none"), Outcome.new_ticket, True),
    ("fail", "absent", None, ("fail", "none", "none"), Outcome.new_ticket, False),
    ("softfail", "absent", None, ("softfail", "none", "none"), Outcome.new_ticket, False),
    ("none", "absent", None, ("none", "none", "none"), Outcome.new_ticket, False),
    ("none", "valid", None, ("none", "pass", "none"), Outcome.new_ticket, True),
    ("none", "broken", None, ("none", "fail", "none"), Outcome.new_ticket, False),
    ("pass", "absent", "v=DMARC1; p=reject", ("pass", "none", "pass"), Outcome.new_ticket, True),
    ("fail", "valid", "v=DMARC1; p=reject", ("fail", "pass", "pass"), Outcome.new_ticket, True),
    ("fail", "absent", "v=DMARC1; p=reject", ("fail", "none", "fail"), Outcome.quarantined, False),
    ("softfail", "broken", "v=DMARC1; p=quarantine", ("softfail", "fail", "fail"), Outcome.quarantined, False),
    ("fail", "absent", "v=DMARC1; p=none", ("fail", "none", "fail"), Outcome.new_ticket, False),
    ("none", "broken", "v=DMARC1; p=none", ("none", "fail", "fail"), Outcome.new_ticket, False),
]


@pytest.mark.parametrize("spf, signature, dmarc, results, outcome, acknowledged", MATRIX)
def test_a_strangers_mail_is_checked_and_answered_only_when_authenticated(
        db, dns, smtp_server, dkim_key, spf, signature, dmarc, results, outcome, acknowledged):
    publish(dns, "luar.test", spf=spf, dmarc=dmarc, key=dkim_key if signature != "absent" else None)
    raw = mail(sender=STRANGER, subject="Pertanyaan BOS")
    if signature != "absent":
        raw = signed(raw, dkim_key)
        if signature == "broken":
            raw = raw.replace(b"Pertanyaan BOS", b"Pertanyaan BOS palsu")
    assert transcript(smtp_server.port, raw, mail_from=STRANGER) == OK

    raw_mail = one(db, RawMail)
    verdict = json.loads(raw_mail.auth)
    assert (verdict["spf"], verdict["dkim"], verdict["dmarc"]) == results
    assert (verdict["ip"], verdict["helo"], verdict["source"]) == ("127.0.0.1", "client.test", "checked")
    assert raw_mail.outcome is outcome
    with db.session() as session:
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    if outcome is Outcome.quarantined:
        assert raw_mail.reason.startswith("spoofed: DMARC fails for luar.test")
        assert tickets == 0 and outbox(db) == []
        return
    assert tickets == 1
    acks = outbox(db)
    assert [(template, to) for template, to, _ in acks] == [("ack", STRANGER)]
    assert acks[0][2] is (OutboxStatus.pending if acknowledged else OutboxStatus.suppressed)


def test_a_registered_school_without_any_records_is_still_answered(db, dns, smtp_server):
    assert transcript(smtp_server.port, mail(sender=SCHOOL), mail_from=SCHOOL) == OK
    assert one(db, RawMail).outcome is Outcome.new_ticket
    assert outbox(db) == [("ack", SCHOOL, OutboxStatus.pending)]


@pytest.mark.parametrize("records", [{"spf": "fail", "dmarc": None}, {"spf": "softfail", "dmarc": "v=DMARC1; p=none"}])
def test_a_forged_school_sender_does_not_enter_the_schools_thread(db, dns, smtp_server, records):
    assert transcript(smtp_server.port, mail(sender=SCHOOL, subject="Rapor"), mail_from=SCHOOL) == OK
    ticket = one(db, Ticket)
    publish(dns, "sekolah.test", **records)
    forged = mail(sender=SCHOOL, subject=f"Re: [{ticket.ref}] Rapor", body="Transfer ke rekening ini.")
    assert transcript(smtp_server.port, forged, mail_from=SCHOOL) == OK
    with db.session() as session:
        raws = session.scalars(select(RawMail).order_by(RawMail.id)).all()
        texts = session.scalars(select(Message.text).where(Message.ticket_id == ticket.id)).all()
        tickets = session.scalar(select(func.count()).select_from(Ticket))
    assert raws[1].outcome is Outcome.quarantined
    assert raws[1].ticket_id == ticket.id  # linked to the ticket it claimed
    assert raws[1].reason.startswith(f"forged sender: {SCHOOL} is a registered school's address")
    assert ticket.ref in raws[1].reason
    assert texts == ["Mohon bantuan."] and tickets == 1
    assert [template for template, _, _ in outbox(db)] == ["ack"]  # the first mail's only


def test_a_forged_school_sender_naming_no_ticket_is_linked_to_the_schools_open_one(db, dns, smtp_server):
    assert transcript(smtp_server.port, mail(sender=SCHOOL), mail_from=SCHOOL) == OK
    ticket = one(db, Ticket)
    publish(dns, "sekolah.test", spf="fail", dmarc=None)
    assert transcript(smtp_server.port, mail(sender=SCHOOL, subject="Baru"), mail_from=SCHOOL) == OK
    with db.session() as session:
        forged = session.scalars(select(RawMail).order_by(RawMail.id.desc())).first()
    assert (forged.outcome, forged.ticket_id) == (Outcome.quarantined, ticket.id)


def test_a_dns_timeout_keeps_the_mail_and_it_is_checked_again(db, dns, smtp_server):
    dns.silence("luar.test")
    dns.silence("_dmarc.luar.test")
    assert transcript(smtp_server.port, mail(sender=STRANGER), mail_from=STRANGER) == OK
    raw_mail = one(db, RawMail)
    assert raw_mail.outcome is Outcome.quarantined
    assert raw_mail.reason.startswith("authentication pending: a DNS lookup timed out")
    assert json.loads(raw_mail.auth)["spf"] == "temperror"
    assert raw_mail.reprocess_requested_at > utcnow()
    assert outbox(db) == []
    assert reprocess_requested(db).done == 0  # not due yet

    dns.clear()
    publish(dns, "luar.test", spf="pass", dmarc="v=DMARC1; p=reject")
    with freeze_time(utcnow() + timedelta(minutes=6), tick=True):
        assert reprocess_requested(db).done == 1
    raw_mail = one(db, RawMail)
    assert raw_mail.outcome is Outcome.new_ticket and raw_mail.reprocess_requested_at is None
    assert json.loads(raw_mail.auth)["dmarc"] == "pass"
    assert outbox(db) == [("ack", STRANGER, OutboxStatus.pending)]


def test_two_hundred_forged_mails_at_reject_domains_send_nothing(db, dns, smtp_server):
    domains = [f"bank{number}.test" for number in range(10)]
    for domain in domains:
        publish(dns, domain, spf="fail", dmarc="v=DMARC1; p=reject; rua=mailto:d@example.test")
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=30) as client:
        client.ehlo("spam.test")
        for number in range(200):
            victim = f"victim{number}@{domains[number % 10]}"
            client.sendmail(victim, ["helpdesk@helpdesk.test"], mail(sender=victim, subject=f"Hadiah {number}"))
    with db.session() as session:
        outcomes = session.execute(select(RawMail.outcome, func.count()).group_by(RawMail.outcome)).all()
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert outcomes == [(Outcome.quarantined, 200)]


def test_mail_log_and_export_carry_the_verdict(db, dns, smtp_server, dkim_key):
    publish(dns, "luar.test", spf="pass", dmarc="v=DMARC1; p=quarantine", key=dkim_key)
    assert transcript(smtp_server.port, signed(mail(sender=STRANGER), dkim_key), mail_from=STRANGER) == OK
    with db.session() as session:
        logged = list(mail_log(session))
        exported = list(export_tickets(session))
    auth = logged[0]["auth"]
    assert (auth["spf"], auth["dkim"], auth["dmarc"], auth["dmarc_policy"]) == ("pass", "pass", "pass", "quarantine")
    assert auth["signatures"] == [{"domain": "luar.test", "selector": "s1", "result": "pass"}]
    assert exported[0]["messages"][0]["auth"] == auth


def test_a_file_or_imap_mail_is_not_checked_unless_our_front_mta_vouches(db, dns):
    publish(dns, "luar.test", spf="fail", dmarc="v=DMARC1; p=reject")
    plain = ingest(db, mail(sender=STRANGER), STRANGER, channel="file")
    vouched_raw = mail(sender=STRANGER, headers={
        "Authentication-Results": "mx.helpdesk.test; spf=pass smtp.mailfrom=budi@luar.test; dkim=none; "
                                  "dmarc=pass header.from=luar.test"})
    forged_header = mail(sender=STRANGER, headers={
        "Authentication-Results": "mx.elsewhere.test; spf=pass smtp.mailfrom=budi@luar.test; "
                                  "dmarc=pass header.from=luar.test"})
    db.settings = replace(db.settings, front_mta="mx.helpdesk.test")
    vouched = ingest(db, vouched_raw, STRANGER, channel="file")
    not_ours = ingest(db, forged_header, STRANGER, channel="file")
    assert plain.outcome is vouched.outcome is not_ours.outcome is Outcome.new_ticket
    with db.session() as session:
        verdicts = [json.loads(a) for a in session.scalars(select(RawMail.auth).order_by(RawMail.id))]
        statuses = session.scalars(select(Outbox.status).where(Outbox.template == "ack").order_by(Outbox.id)).all()
    # Another host's header is ignored: that mail is merely unchecked, and so not answered.
    assert [(v["source"], v["dmarc"]) for v in verdicts] == [("none", "none"), ("front_mta", "pass"),
                                                             ("none", "none")]
    assert statuses == [OutboxStatus.suppressed, OutboxStatus.pending, OutboxStatus.suppressed]


def test_a_dkim_signed_mail_that_passes_reaches_the_staff_page(db, dns, smtp_server, dkim_key):
    publish(dns, "luar.test", spf="none", dmarc=None, key=dkim_key)
    assert transcript(smtp_server.port, signed(mail(sender=STRANGER), dkim_key), mail_from=STRANGER) == OK
    ticket = one(db, Ticket)
    with db.session() as session:
        from core.queries.export import auth_of_messages
        messages = session.scalars(select(Message).where(Message.ticket_id == ticket.id)).all()
        auth = auth_of_messages(session, messages)
    assert [(a["dkim"], a["aligned"]) for a in auth.values()] == [("pass", True)]


def test_the_server_with_a_front_mta_configured_still_checks_mail_without_its_header(db, dns):
    db.settings = replace(db.settings, front_mta="mx.helpdesk.test")
    publish(dns, "luar.test", spf="pass", dmarc=None)
    server = BackgroundServer(db).start()
    try:
        assert transcript(server.port, mail(sender=STRANGER), mail_from=STRANGER) == OK
    finally:
        server.stop()
    assert json.loads(one(db, RawMail).auth)["source"] == "checked"
    assert outbox(db) == [("ack", STRANGER, OutboxStatus.pending)]
