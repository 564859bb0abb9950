"""Reading delivery status reports."""
from __future__ import annotations

from email import message_from_bytes

from mailin.dsn import read_report
from tests.mailin.mails import delivery_report, mail


def report_of(raw: bytes, sender: str):
    return read_report(message_from_bytes(raw), raw, sender, None)


def test_standard_report_names_the_original_and_the_reason():
    report = report_of(delivery_report("<HD-ABCDEF.1.2@helpdesk.test>"), "mailer-daemon@mx.sekolah.test")
    assert report.original_message_id == "<HD-ABCDEF.1.2@helpdesk.test>"
    assert report.reason.startswith("failed 5.1.1: sman1@sekolah.test: smtp; 550 5.1.1")


def test_plain_text_bounce_from_a_daemon_finds_the_quoted_message_id():
    raw = mail(sender="MAILER-DAEMON@old.mx.test", message_id="<own@old.mx.test>",
               body="Your mail could not be delivered.\n\n--- Original message ---\n"
                    "Message-ID: <HD-ABCDEF.1.2@helpdesk.test>\nSubject: x\n")
    report = read_report(message_from_bytes(raw), raw, "mailer-daemon@old.mx.test", "<own@old.mx.test>")
    assert report.original_message_id == "<HD-ABCDEF.1.2@helpdesk.test>"


def test_a_person_quoting_headers_is_not_a_bounce():
    raw = mail(body="Message-ID: <HD-ABCDEF.1.2@helpdesk.test>\n")
    assert report_of(raw, "sman1@sekolah.test") is None
