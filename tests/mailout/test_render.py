from __future__ import annotations

import email
from email import policy as email_policy

import mailparser
import pytest

from core.config.policy import load_policy
from core.mail import notices, outbox
from core.models import Attachment, Direction, Message, utcnow
from core.storage.files import Store
from core.tickets.intake import link_of
from mailout.deliver import deliver_due
from mailout.render import render
from tests.factories import load_directory, make_user
from tests.mailout.world import open_with_ack

PDF = b"%PDF-1.4\n% Panduan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    return offices, open_with_ack(session, settings)


def parsed(mail) -> email.message.EmailMessage:
    return email.message_from_bytes(mail.as_bytes(), policy=email_policy.default)


@pytest.mark.parametrize("language, words", [("id", "Tiket Anda telah kami terima"),
                                             ("en", "We have received your ticket")])
def test_the_acknowledgement_speaks_the_tickets_language(session, settings, world, language, words):
    _, ticket = world
    row = notices.ack(session, settings, load_policy(session), ticket, now=utcnow())
    row.language = language
    mail = parsed(render(session, settings, row))
    assert mail["Subject"] == f"[{ticket.ref}] {words}: Dapodik tidak bisa login"
    assert mail.get_body(("plain",)).get_content_charset() == "utf-8"
    assert link_of(settings, ticket) in mail.get_body(("plain",)).get_content()
    assert f'href="{link_of(settings, ticket)}"' in mail.get_body(("html",)).get_content()


def test_a_staff_reply_carries_its_attachments_and_escapes_html(session, settings, world):
    offices, ticket = world
    agent = make_user(session, offices["C3171"])
    sha = Store(settings.path("store")).put(PDF)
    message = Message(ticket=ticket, direction=Direction.outbound, author=agent, channel="portal",
                      text="Silakan <b>unduh</b> panduan.", full_text="x", created_at=utcnow(), attachments=[
                          Attachment(filename="panduan.pdf", content_type="application/pdf", size=len(PDF),
                                     sha256=sha),
                          Attachment(filename="virus.exe", content_type="application/octet-stream", size=1,
                                     sha256=sha, refused_reason="extension not allowed")])
    session.add(message)
    session.flush()
    row = notices.staff_reply(session, settings, load_policy(session), ticket, message)
    raw = render(session, settings, row).as_bytes()
    got = mailparser.parse_from_bytes(raw)
    assert [a["filename"] for a in got.attachments] == ["panduan.pdf"]
    mail = email.message_from_bytes(raw, policy=email_policy.default)
    assert mail["Auto-Submitted"] is None and mail["In-Reply-To"] == "<q1@sekolah.test>"
    assert next(mail.iter_attachments()).get_content() == PDF
    assert "Silakan &lt;b&gt;unduh&lt;/b&gt;" in mail.get_body(("html",)).get_content()
    assert "Silakan <b>unduh</b> panduan." in mail.get_body(("plain",)).get_content()


def test_an_admins_copy_of_a_template_overrides_the_shipped_wording(session, settings, world):
    _, ticket = world
    own = settings.path("templates", "mail", "ack", "id", "subject.txt")
    own.parent.mkdir(parents=True)
    own.write_text("Sudah kami catat: {{ subject }}\n")
    row = notices.ack(session, settings, load_policy(session), ticket)
    assert parsed(render(session, settings, row))["Subject"] == \
        f"[{ticket.ref}] Sudah kami catat: Dapodik tidak bisa login"


def test_a_mail_about_no_ticket_has_no_reference_and_no_thread(session, settings):
    row = outbox.enqueue(session, settings, template="password_reset", to="agent@staff.test", language="en",
                         automatic=False, context={"name": "Agent", "link": "http://helpdesk.test/reset/abc"})
    mail = parsed(render(session, settings, row))
    assert mail["Subject"] == "Reset your Helpdesk password"
    assert mail["In-Reply-To"] is None and mail["Auto-Submitted"] is None
    assert "http://helpdesk.test/reset/abc" in mail.get_body(("plain",)).get_content()


def test_an_unknown_language_falls_back_to_indonesian(session, settings, world):
    _, ticket = world
    row = notices.closed(session, settings, load_policy(session), ticket)
    row.language = "jv"
    assert "Tiket Anda telah selesai" in parsed(render(session, settings, row))["Subject"]


@pytest.mark.parametrize("template", ["forwarded_staff", "assigned"])
def test_staff_notices_link_to_the_staff_portal_not_the_private_page(session, settings, world, template):
    offices, ticket = world
    agent = make_user(session, offices["C3171"])
    row = outbox.enqueue(session, settings, template=template, to=agent.email, ticket=ticket, context={})
    body = parsed(render(session, settings, row)).get_body(("plain",)).get_content()
    assert f"http://helpdesk.test/staff/tickets/{ticket.ref}" in body and "/t/" not in body


def test_every_template_renders_in_both_languages(session, settings, world):
    _, ticket = world
    for template in ("ack", "staff_reply", "forwarded_customer", "forwarded_staff", "assigned", "on_hold",
                     "auto_closed", "closed", "password_reset"):
        for language in ("id", "en"):
            row = outbox.enqueue(session, settings, template=template, to=ticket.requester_email,
                                 ticket=ticket, language=language, context={"text": "x", "link": "L"})
            mail = parsed(render(session, settings, row))
            assert mail["Subject"] and mail.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")


def test_a_broken_site_template_falls_back_to_the_shipped_wording(database):
    with database.begin() as s:
        load_directory(s)
        open_with_ack(s, database.settings, message_id="<b1@sekolah.test>")
        open_with_ack(s, database.settings, sender="sman8@sekolah.test", message_id="<b2@sekolah.test>",
                      language="en")
    broken = database.settings.path("templates", "mail", "ack", "id", "body.txt")
    broken.parent.mkdir(parents=True)
    broken.write_text("{{ ticket.nothing.deeper }}")
    report = deliver_due(database)
    assert (report.sent, report.retrying) == (2, 0)
    bodies = [p.read_text() for p in database.settings.path("outgoing").glob("*.eml")]
    assert any("telah kami terima" in body for body in bodies)


def test_a_row_whose_template_is_missing_fails_and_the_pass_goes_on(database):
    with database.begin() as s:
        load_directory(s)
        open_with_ack(s, database.settings, message_id="<b1@sekolah.test>")
        outbox.enqueue(s, database.settings, template="no_such_mail", to="agent@staff.test", language="en",
                       automatic=False, context={})
    report = deliver_due(database)
    assert (report.sent, report.retrying) == (1, 1)


def test_a_long_thread_folds_its_references_and_they_parse_back(session, settings, world):
    _, ticket = world
    chain = [f"<earlier.{i}.{'x' * 30}@sekolah.test>" for i in range(9)] + ["<q1@sekolah.test>"]
    row = outbox.enqueue(session, settings, template="ack", to=ticket.requester_email, ticket=ticket,
                         in_reply_to="<q1@sekolah.test>", references=" ".join(chain))
    raw = render(session, settings, row).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert parsed(render(session, settings, row))["References"].split() == chain
    assert mailparser.parse_from_bytes(raw).in_reply_to == "<q1@sekolah.test>"


def test_a_non_ascii_subject_is_encoded_and_reads_back_whole(session, settings):
    load_directory(session)
    ticket = open_with_ack(session, settings, subject="Ujian daring — nilai tidak muncul 😟 " * 3)
    row = notices.ack(session, settings, load_policy(session), ticket)
    raw = render(session, settings, row).as_bytes()
    assert raw.isascii() and b"\r\n\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    subject = email.message_from_bytes(raw, policy=email_policy.default)["Subject"]
    assert subject == f"[{ticket.ref}] Tiket Anda telah kami terima: " + " ".join(ticket.subject.split())


def test_a_header_value_cannot_smuggle_in_another_header():
    from mailout.render import header
    assert header("To", "sman1@sekolah.test") == "To: sman1@sekolah.test\r\n"
    folded = header("Subject", "Tolong\r\nBcc: semua@sekolah.test")
    mail = email.message_from_string(folded + "\r\n", policy=email_policy.default)
    assert mail["Bcc"] is None and "Bcc" in mail["Subject"]


def test_bodies_are_utf8_quoted_printable_with_crlf_lines(session, settings, world):
    _, ticket = world
    row = outbox.enqueue(session, settings, template="staff_reply", to=ticket.requester_email, ticket=ticket,
                         automatic=False, context={"text": "Baris satu\r\nbaris dua: é = 1\rbaris tiga"})
    mail = parsed(render(session, settings, row))
    assert "Baris satu\r\nbaris dua: é = 1\r\nbaris tiga\r\n" in mail.get_body(("plain",)).get_content()
    assert all(part["Content-Transfer-Encoding"] == "quoted-printable" for part in mail.walk()
               if not part.is_multipart())


def test_a_site_template_added_or_edited_while_running_applies_from_the_next_pass(database):
    with database.begin() as s:
        load_directory(s)
        open_with_ack(s, database.settings, message_id="<n1@sekolah.test>")
    deliver_due(database)
    own = database.settings.path("templates", "mail", "ack", "id", "subject.txt")
    own.parent.mkdir(parents=True)
    own.write_text("Sudah kami catat: {{ subject }}\n")
    with database.begin() as s:
        open_with_ack(s, database.settings, sender="sman8@sekolah.test", message_id="<n2@sekolah.test>")
    deliver_due(database)
    own.write_text("Tercatat dengan baik: {{ subject }}\n")  # and edited again
    with database.begin() as s:
        open_with_ack(s, database.settings, sender="smkn26@sekolah.test", message_id="<n3@sekolah.test>")
    deliver_due(database)
    subjects = [email.message_from_bytes(f.read_bytes(), policy=email_policy.default)["Subject"]
                for f in database.settings.path("outgoing").glob("*.eml")]
    assert sum("Tiket Anda telah kami terima" in subject for subject in subjects) == 1
    assert sum("Sudah kami catat" in subject for subject in subjects) == 1
    assert sum("Tercatat dengan baik" in subject for subject in subjects) == 1
