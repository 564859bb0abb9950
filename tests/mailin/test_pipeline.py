"""The whole pipeline on a committing database: what each kind of mail
does to tickets, the outbox and the mail log."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from core.models import (
    Attachment, Message, Office, Outbox, OutboxStatus, Outcome, RawContent, RawMail, Setting, Status, Ticket,
    TicketLink, utcnow,
)
from core.storage.files import Store
from core.tickets import lifecycle
from mailin.inbound import AlreadyProcessed, TemporaryFailure
from core.storage.writelock import WriteLockTimeout, WriterLock
from mailin.pipeline import ingest, record_row, reprocess, sniff_message_id
from tests.factories import raw_of
from tests.mailin.conftest import impatient, locked
from tests.mailin.mails import HELPDESK, OTHER_SCHOOL, PDF, SCHOOL, delivery_report, mail, with_parts


def deliver(db, raw: bytes, envelope_from: str | None = SCHOOL):
    return ingest(db, raw, envelope_from, (HELPDESK,), "smtp")


def rows(db, model, *where):
    with db.session() as session:
        return session.scalars(select(model).where(*where).order_by(model.id)).all()


def ticket_of(db, ref: str) -> Ticket:
    with db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        ticket.messages, ticket.school  # load while the session is open
        return ticket


def set_status(db, ref: str, status: Status) -> None:
    with db.begin() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        lifecycle.move(session, ticket, status, "test")


def test_new_mail_opens_a_ticket_and_queues_one_acknowledgement_threaded_under_it(db):
    raw = mail(subject="Akun Dapodik terkunci")
    result = deliver(db, raw)
    assert result.outcome is Outcome.new_ticket
    ticket = ticket_of(db, result.ticket_ref)
    assert (ticket.requester_email, ticket.office_id is not None, ticket.language) == (SCHOOL, True, "id")
    ack = rows(db, Outbox).pop()
    assert (ack.template, ack.to_address, ack.ticket_id, ack.automatic) == ("ack", SCHOOL, ticket.id, True)
    assert ack.in_reply_to == ticket.messages[0].message_id
    assert json.loads(ack.context)["ref"] == ticket.ref


def test_unreadable_mail_is_quarantined_with_its_bytes_kept(db):
    raw = b"\r\n\r\nno header at all\r\n"
    result = ingest(db, raw, None, (HELPDESK,), "file")
    assert result.outcome is Outcome.quarantined
    (row,) = rows(db, RawMail)
    assert row.reason == "no header fields" and row.processed_at is not None
    assert raw_of(db, row) == raw


def test_mail_naming_no_sender_anywhere_is_quarantined(db):
    raw = b"To: helpdesk@helpdesk.test\r\nSubject: siapa?\r\n\r\nhalo\r\n"
    result = ingest(db, raw, None, (HELPDESK,), "file")
    assert (result.outcome, result.reason) == (Outcome.quarantined, "no sender address in From or the envelope")


def test_from_header_missing_falls_back_to_the_envelope_sender(db):
    raw = b"To: helpdesk@helpdesk.test\r\nSubject: tanpa From\r\n\r\nhalo\r\n"
    assert ticket_of(db, deliver(db, raw).ticket_ref).requester_email == SCHOOL


def test_same_message_id_twice_is_a_duplicate_of_the_first(db):
    raw = mail(message_id="<once@sekolah.test>")
    first = deliver(db, raw)
    again = deliver(db, mail(message_id="<once@sekolah.test>", body="copy to an alias"))
    assert again.outcome is Outcome.duplicate and again.ticket_ref == first.ticket_ref
    assert again.reason == f"already ingested as raw mail {first.raw_mail_id}"
    assert len(rows(db, Ticket)) == 1


def test_without_message_id_only_identical_bytes_are_duplicates(db):
    raw = mail(message_id=None)
    assert deliver(db, raw).outcome is Outcome.new_ticket
    assert deliver(db, raw).outcome is Outcome.duplicate
    assert deliver(db, mail(message_id=None, body="lain")).outcome is Outcome.new_ticket


def test_reply_with_the_tag_lands_on_the_ticket_and_reopens_it(db):
    ref = deliver(db, mail()).ticket_ref
    set_status(db, ref, Status.answered)
    reply = deliver(db, mail(subject=f"RE: AW: Balas: [{ref}] Rapor tidak bisa dicetak", body="Masih error."))
    assert (reply.outcome, reply.ticket_ref) == (Outcome.appended, ref)
    ticket = ticket_of(db, ref)
    assert ticket.status is Status.open and [m.text for m in ticket.messages][-1] == "Masih error."
    assert len(rows(db, Outbox)) == 1  # only the first mail's acknowledgement


def test_reply_to_our_message_id_lands_on_the_ticket_without_a_tag(db):
    ref = deliver(db, mail()).ticket_ref
    ours = rows(db, Outbox).pop().message_id
    reply = deliver(db, mail(subject="Re: jawaban", headers={"In-Reply-To": ours, "References": ours}))
    assert (reply.outcome, reply.ticket_ref) == (Outcome.appended, ref)


def test_a_forged_message_id_of_ours_does_not_thread(db):
    ref = deliver(db, mail()).ticket_ref
    forged = f"<{ref}.00000000.0000000000000000@helpdesk.test>"
    reply = deliver(db, mail(subject="Re: jawaban", headers={"In-Reply-To": forged}))
    assert reply.outcome is Outcome.new_ticket and reply.ticket_ref != ref


def test_follow_up_to_the_senders_own_earlier_mail_lands_on_its_ticket(db):
    first = mail(message_id="<first@sekolah.test>")
    ref = deliver(db, first).ticket_ref
    follow = deliver(db, mail(subject="Tambahan", headers={"References": "<first@sekolah.test>"}))
    assert (follow.outcome, follow.ticket_ref) == (Outcome.appended, ref)
    # The same reference from another sender finds nothing to join.
    other = deliver(db, mail(sender=OTHER_SCHOOL, headers={"References": "<first@sekolah.test>"}),
                    envelope_from=OTHER_SCHOOL)
    assert other.outcome is Outcome.new_ticket and other.ticket_ref != ref


def test_stranger_quoting_the_tag_gets_a_new_ticket_linked_to_it(db):
    ref = deliver(db, mail()).ticket_ref
    result = deliver(db, mail(sender="orang@asing.test", subject=f"Re: [{ref}] saya juga", body="Rahasia?"),
                     envelope_from="orang@asing.test")
    assert result.outcome is Outcome.new_ticket and result.ticket_ref != ref
    assert result.reason == f"sender orang@asing.test is not on {ref}: opened a new ticket"
    assert [m.from_address for m in ticket_of(db, ref).messages] == [SCHOOL]
    ids = {ticket_of(db, ref).id, ticket_of(db, result.ticket_ref).id}
    (link,) = rows(db, TicketLink)
    assert {link.ticket_id, link.other_id} == ids
    assert rows(db, RawMail, RawMail.id == result.raw_mail_id)[0].reason == result.reason


def test_schools_registered_address_may_write_on_a_ticket_a_colleague_opened(db):
    ref = deliver(db, mail(sender="guru@gmail.test"), envelope_from="guru@gmail.test").ticket_ref
    with db.begin() as session:  # staff set the school on the ticket
        ticket = session.scalars(select(Ticket).where(Ticket.ref == ref)).one()
        ticket.school = session.scalars(select(Office).where(Office.code == "S001")).one()
    reply = deliver(db, mail(subject=f"Re: [{ref}]"))
    assert (reply.outcome, reply.ticket_ref) == (Outcome.appended, ref)


def test_out_of_office_reply_is_kept_on_its_ticket_but_reopens_nothing_and_gets_no_ack(db):
    ref = deliver(db, mail()).ticket_ref
    set_status(db, ref, Status.answered)
    ooo = mail(subject=f"Otomatis: [{ref}] Rapor", body="Saya sedang cuti.",
               headers={"Auto-Submitted": "auto-replied"})
    result = deliver(db, ooo)
    assert (result.outcome, result.ticket_ref, result.reason) == (
        Outcome.auto_reply, ref, "Auto-Submitted: auto-replied")
    ticket = ticket_of(db, ref)
    assert ticket.status is Status.answered
    assert ticket.messages[-1].auto_reply is True
    assert len(rows(db, Outbox)) == 1


@pytest.mark.parametrize("headers, envelope_from", [
    ({"X-Autoreply": "yes"}, SCHOOL),
    ({"X-Autorespond": "vacation"}, SCHOOL),
    ({"Precedence": "bulk"}, SCHOOL),
    ({"List-Id": "<guru.list.test>"}, SCHOOL),
    ({}, ""),
])
def test_automatic_mail_that_threads_nowhere_opens_no_ticket(db, headers, envelope_from):
    result = deliver(db, mail(headers=headers), envelope_from=envelope_from)
    assert result.outcome is Outcome.auto_reply and result.ticket_ref is None
    assert rows(db, Ticket) == [] and rows(db, Outbox) == []


def test_mail_asking_for_no_auto_response_is_a_ticket_without_acknowledgement(db):
    result = deliver(db, mail(headers={"X-Auto-Response-Suppress": "DR, OOF, AutoReply"}))
    assert result.outcome is Outcome.new_ticket and rows(db, Outbox) == []


def test_delivery_report_marks_the_bounced_outbox_row_and_opens_no_ticket(db):
    ref = deliver(db, mail()).ticket_ref
    ack = rows(db, Outbox).pop()
    result = deliver(db, delivery_report(ack.message_id), envelope_from="")
    assert (result.outcome, result.ticket_ref) == (Outcome.bounce, ref)
    assert result.reason.startswith("failed 5.1.1: sman1@sekolah.test: smtp; 550 5.1.1")
    (bounced,) = rows(db, Outbox)
    assert bounced.status is OutboxStatus.bounced and bounced.bounced_at is not None
    assert bounced.bounce_reason == result.reason
    assert len(rows(db, Ticket)) == 1 and len(ticket_of(db, ref).messages) == 1


def test_delivery_report_about_mail_we_never_sent_is_logged_as_a_bounce(db):
    result = deliver(db, delivery_report("<unknown@elsewhere.test>"), envelope_from="")
    assert result.outcome is Outcome.bounce and result.ticket_ref is None
    assert result.reason.endswith("no mail of ours named in it")


def test_mail_from_our_own_address_is_never_a_customer_mail(db):
    result = deliver(db, mail(sender=HELPDESK), envelope_from=HELPDESK)
    assert (result.outcome, result.reason) == (Outcome.quarantined, "from our own address")
    assert rows(db, Ticket) == [] and rows(db, Outbox) == []


def test_our_own_mail_coming_back_is_not_processed(db):
    deliver(db, mail())
    ours = rows(db, Outbox).pop().message_id
    result = deliver(db, mail(sender="forwarder@sekolah.test", message_id=ours))
    assert result.outcome is Outcome.quarantined


def test_a_processing_error_quarantines_and_reprocess_takes_it_again(db):
    with db.begin() as session:
        session.add(Setting(key="attachment_max_bytes", value=json.dumps("lots")))
    result = deliver(db, with_parts(files=[("surat.pdf", "application/pdf", PDF)]))
    assert result.outcome is Outcome.quarantined and "TypeError" in result.reason
    with db.begin() as session:
        session.delete(session.get(Setting, "attachment_max_bytes"))
    again = reprocess(db, result.raw_mail_id)
    assert again.outcome is Outcome.new_ticket
    (row,) = rows(db, RawMail)
    assert (row.outcome, row.reason) == (Outcome.new_ticket, None)
    (attachment,) = rows(db, Attachment)
    assert (attachment.filename, attachment.refused_reason) == ("surat.pdf", None)


def test_an_ingested_mail_cannot_be_processed_again(db):
    first = deliver(db, mail())
    with pytest.raises(AlreadyProcessed):
        reprocess(db, first.raw_mail_id)
    assert len(rows(db, Message)) == 1


def test_database_locked_before_recording_fails_temporarily_and_keeps_nothing_half_done(db):
    slow = impatient(db)
    raw = mail()
    with locked(db), pytest.raises(TemporaryFailure):
        deliver(slow, raw)
    # Nor its bytes: they are written with the row, and the sender keeps them.
    assert rows(db, RawMail) == [] and not Store(db.settings.path("store")).exists(hashlib.sha256(raw).hexdigest())
    with db.session() as session:
        assert session.scalars(select(RawContent)).all() == []


def test_database_failing_in_the_middle_of_the_writes_keeps_nothing_and_the_retry_makes_one_ticket(db, monkeypatch):
    """The row, the ticket and its acknowledgement are one transaction: a
    failure after some of them were written takes them all back, and the
    sender's retry is taken as a first delivery."""
    import mailin.pipeline

    route = mailin.pipeline.route

    def route_then_fail(session, *args, **kwargs):
        route(session, *args, **kwargs)
        session.flush()
        raise sa_exc.OperationalError("INSERT INTO outbox", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(mailin.pipeline, "route", route_then_fail)
    raw = mail()
    with pytest.raises(TemporaryFailure, match="disk I/O error"):
        deliver(db, raw)
    assert rows(db, RawMail) == [] and rows(db, Ticket) == [] and rows(db, Outbox) == []
    monkeypatch.undo()
    retry = deliver(db, raw)
    assert retry.outcome is Outcome.new_ticket
    assert len(rows(db, Ticket)) == 1 and len(rows(db, Message)) == 1 and len(rows(db, Outbox)) == 1
    assert [row.outcome for row in rows(db, RawMail)] == [Outcome.new_ticket]


def test_a_delivery_left_without_an_outcome_is_closed_by_the_next_one(db):
    """A database written by an earlier release may hold a delivery cut short
    after its row was committed: the next delivery of the message counts."""
    raw = mail()
    with db.begin() as session:
        record_row(session.connection(), {
            "channel": "smtp", "envelope_from": SCHOOL, "envelope_to": HELPDESK, "size": len(raw),
            "message_id": sniff_message_id(raw), "sha256": Store(db.settings.path("store")).put(raw),
            "received_at": utcnow()})
    retry = deliver(db, raw)
    assert retry.outcome is Outcome.new_ticket and len(rows(db, Ticket)) == 1
    interrupted, counted = rows(db, RawMail)
    assert (interrupted.outcome, counted.id) == (Outcome.duplicate, retry.raw_mail_id)
    assert interrupted.reason == f"interrupted by a temporary failure; received again as raw mail {counted.id}"


def test_message_id_is_logged_normalised_so_a_bare_id_still_finds_its_duplicate(db):
    first = deliver(db, mail(message_id="bare@sekolah.test"))
    again = deliver(db, mail(message_id="bare@sekolah.test", body="lagi"))
    assert again.outcome is Outcome.duplicate
    assert {row.message_id for row in rows(db, RawMail)} == {"<bare@sekolah.test>"}
    assert first.outcome is Outcome.new_ticket


def test_message_id_is_read_from_a_folded_header_even_when_parsing_fails():
    assert sniff_message_id(b"Subject: x\r\nMessage-ID:\r\n <folded@x.test>\r\n\r\nbody") == "<folded@x.test>"
    assert sniff_message_id(b"Subject: x\r\n\r\nMessage-ID: <in-body@x.test>") is None


def test_nul_characters_and_a_long_name_still_make_a_ticket(db):
    raw = b'From: "' + b"N" * 300 + b'" <sman1@sekolah.test>\r\nSubject: a\x00b\r\nMessage-ID: <nul@x>\r\n\r\nis\x00i\r\n'
    result = deliver(db, raw)
    assert result.outcome is Outcome.new_ticket
    assert ticket_of(db, result.ticket_ref).messages[0].text == "isi"


def test_a_policy_changed_since_the_last_mail_decides_how_the_next_is_cleaned(db):
    """Cleaning starts before the transaction under the policy the last one
    read; the transaction reads it again, so an admin's change counts at once."""
    first = deliver(db, with_parts(files=[("surat.pdf", "application/pdf", PDF)]))
    with db.begin() as session:
        session.add(Setting(key="attachment_extensions", value=json.dumps(["docx"])))
    second = deliver(db, with_parts(subject="Lagi", files=[("surat2.pdf", "application/pdf", PDF)]))
    assert (first.outcome, second.outcome) == (Outcome.new_ticket, Outcome.new_ticket)
    kept, refused = rows(db, Attachment)
    assert (kept.filename, kept.refused_reason) == ("surat.pdf", None)
    assert (refused.filename, refused.refused_reason) == ("surat2.pdf", "extension .pdf is not allowed")


def test_a_writer_lock_held_elsewhere_too_long_times_out(tmp_path):
    """Another server process holding the writers' lock past the timeout: the
    lock gives up (and the pipeline answers 451, see the test above), never
    waits for ever."""
    lock = WriterLock(str(tmp_path / "db.writer-lock"), timeout=0.2)
    other = os.open(tmp_path / "db.writer-lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(WriteLockTimeout), lock.held():
            pass
        fcntl.flock(other, fcntl.LOCK_UN)
        with lock.held():
            pass
    finally:
        os.close(other)
