"""An admin's mail template runs in Jinja's sandbox: a copy in the data dir
that tries to reach the operating system runs nothing, and the school still
gets its acknowledgement, in the shipped wording."""
from __future__ import annotations

import email
from email import policy as email_policy
from email.message import EmailMessage

from jinja2 import Environment

from mailout.deliver import deliver_due
from tests.mailin.conftest import transcript


def escape(marker) -> str:
    """A template that, outside a sandbox, runs a shell command creating `marker`."""
    return "{{ cycler.__init__.__globals__.os.popen('touch %s').read() }}Pwned\n" % marker


def school_mail() -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "sman1@sekolah.test", "helpdesk@helpdesk.test", "Dapodik tidak bisa login"
    m["Message-ID"] = "<sandbox1@sekolah.test>"
    m.set_content("Mohon bantuan, Dapodik tidak bisa login sejak pagi.")
    return m.as_bytes()


def test_the_payload_runs_a_command_outside_the_sandbox(tmp_path):
    marker = tmp_path / "ran"
    Environment().from_string(escape(marker)).render()
    assert marker.exists()


def test_a_site_template_breaking_the_sandbox_runs_nothing_and_the_ack_still_goes_out(db, smtp_server, tmp_path):
    marker = tmp_path / "ran"
    for language in ("id", "en"):
        own = db.settings.path("templates", "mail", "ack", language)
        own.mkdir(parents=True, exist_ok=True)
        (own / "subject.txt").write_text(escape(marker))
        (own / "body.txt").write_text(escape(marker))
        (own / "body.html").write_text(escape(marker))
    assert transcript(smtp_server.port, school_mail(), mail_from="sman1@sekolah.test") == [250, 250, 250, 250, 221]
    report = deliver_due(db)
    assert (report.sent, report.failed) == (1, 0)
    [sent] = db.settings.path("outgoing").glob("*.eml")
    mail = email.message_from_bytes(sent.read_bytes(), policy=email_policy.default)
    assert mail["To"] == "sman1@sekolah.test"
    assert "Tiket Anda telah kami terima: Dapodik tidak bisa login" in mail["Subject"]
    assert "Pwned" not in mail.get_body(("plain",)).get_content()
    assert not marker.exists()
