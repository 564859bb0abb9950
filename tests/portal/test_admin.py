"""Administration pages through the test client on a real database."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from core.config.policy import load_policy
from core.mail.auth import Verdict
from core.models import Event, Outbox, OutboxStatus, Outcome, Priority, RawMail, Ticket, User
from core.storage.files import Store
from mailin.quarantine import reprocess_requested
from tests.factories import PASSWORD
from tests.portal.staff_world import build_world, log_in

RAW = (b"From: SMA Negeri 1 <sman1@sekolah.test>\r\nTo: helpdesk@helpdesk.test\r\n"
       b"Subject: Data siswa hilang\r\nMessage-ID: <q1@sekolah.test>\r\n\r\nData siswa kelas X hilang.\r\n")


@pytest.fixture
def admin(app, database):
    app.config["WTF_CSRF_ENABLED"] = False
    world = build_world(database)
    client = app.test_client()
    log_in(client, world.emails["min"])
    return client, world


def test_a_quarantined_mail_processed_again_becomes_a_ticket(admin, database):
    client, _ = admin
    sha = Store(database.settings.path("store")).put(RAW)
    with database.begin() as s:
        raw = RawMail(channel="smtp", envelope_from="sman1@sekolah.test", sha256=sha, size=len(RAW),
                      outcome=Outcome.quarantined, reason="parser crashed")
        s.add(raw)
        s.flush()
        raw_id = raw.id
    page = client.get(f"/admin/quarantine/{raw_id}?lang=en")
    assert "parser crashed" in page.text and "Data siswa hilang" in page.text
    assert client.post(f"/admin/quarantine/{raw_id}/reprocess").status_code == 302
    assert "queued to process again" in client.get("/admin/quarantine?lang=en").text
    with database.session() as s:  # the web process only asked
        assert s.get(RawMail, raw_id).outcome is Outcome.quarantined
    assert reprocess_requested(database).done == 1  # what the periodic task runs
    with database.session() as s:
        assert s.get(RawMail, raw_id).outcome is Outcome.new_ticket
        assert s.get(RawMail, raw_id).reprocess_requested_at is None
        assert s.scalar(select(Ticket).where(Ticket.subject == "Data siswa hilang")) is not None
    assert client.get(f"/admin/quarantine/{raw_id}").status_code == 404  # no longer quarantined


def test_a_discarded_mail_leaves_the_quarantine_but_stays_logged(admin, database):
    client, _ = admin
    with database.begin() as s:
        raw = RawMail(channel="smtp", sha256="2" * 64, size=3, outcome=Outcome.quarantined, reason="junk")
        s.add(raw)
        s.flush()
        raw_id = raw.id
    client.post(f"/admin/quarantine/{raw_id}/discard")
    assert "junk" not in client.get("/admin/quarantine").text
    with database.session() as s:
        assert s.get(RawMail, raw_id).discarded_at is not None


def test_failed_mail_is_sent_again_from_a_fresh_start(admin, database):
    client, _ = admin
    with database.begin() as s:
        row = Outbox(template="ack", to_address="x@sekolah.test", message_id="<f@helpdesk.test>",
                     status=OutboxStatus.failed, attempts=8, last_error="relay said no")
        s.add(row)
        s.flush()
        row_id = row.id
    assert "relay said no" in client.get("/admin/outbox").text
    client.post(f"/admin/outbox/{row_id}/retry")
    with database.session() as s:
        row = s.get(Outbox, row_id)
        assert row.status is OutboxStatus.pending and row.attempts == 0


def test_an_admin_adds_a_user_and_locks_a_user_out(admin, database):
    client, world = admin
    client.post("/admin/users", data={"email": "Baru@Staff.test", "name": "Agen Baru", "office": "C3273",
                                      "role": "agent", "password": "cukup panjang sekali"})
    with database.session() as s:
        user = s.scalar(select(User).where(User.email == "baru@staff.test"))
        assert user.office.code == "C3273"
    client.post(f"/admin/users/{user.id}", data={"name": "Agen Baru", "office": "C3273", "role": "agent"})
    with database.session() as s:
        assert s.get(User, user.id).active is False


def test_a_province_admin_manages_only_its_own_part_of_the_directory(app, database):
    app.config["WTF_CSRF_ENABLED"] = False
    world = build_world(database)
    client = app.test_client()
    log_in(client, world.emails["p31admin"])
    listing = client.get("/admin/users").text
    assert world.emails["c3171"] in listing and world.emails["c3273"] not in listing
    response = client.post("/admin/users", data={"email": "luar@staff.test", "name": "Luar", "office": "C3273",
                                                 "role": "agent", "password": "cukup panjang sekali"})
    assert response.status_code == 302
    with database.session() as s:
        assert s.scalar(select(User).where(User.email == "luar@staff.test")) is None


def test_rules_and_priorities_are_saved_and_bad_values_refused(admin, database):
    client, _ = admin
    client.post("/admin/policy", data={"auto_close_days": "10", "reopen_days": "14", "attachment_extensions": "pdf, .PNG"})
    with database.session() as s:
        policy = load_policy(s)
        assert policy.auto_close_days == 10 and policy.attachment_extensions == ("pdf", "png")
    page = client.post("/admin/policy", data={"auto_close_days": "minus"}, follow_redirects=True)
    assert "auto_close_days" in page.text
    client.post("/admin/priorities", data={"name": "kritis", "level": "5", "first_response_hours": "1",
                                           "resolution_hours": "8", "escalate": "1", "default": "1"})
    with database.session() as s:
        kritis = s.scalar(select(Priority).where(Priority.name == "kritis"))
        assert kritis.is_default and kritis.escalate_on_breach and kritis.first_response_hours == 1


def test_mail_wording_overrides_the_default_and_a_broken_template_is_refused(admin, database):
    client, _ = admin
    name = "staff_reply/id/body.txt"
    assert client.get(f"/admin/mail-templates/{name}").status_code == 200
    assert client.post(f"/admin/mail-templates/{name}", data={"text": "Halo {{ name"}).status_code == 400
    client.post(f"/admin/mail-templates/{name}", data={"text": "Halo {{ name }}, jawaban kami."})
    own = database.settings.path("templates", "mail", name)
    assert own.read_text() == "Halo {{ name }}, jawaban kami."
    client.post(f"/admin/mail-templates/{name}", data={"restore": "1"})
    assert not own.exists()
    assert client.get("/admin/mail-templates/../../secret_key").status_code == 404


def test_a_template_breaking_the_sandbox_is_refused_next_to_the_field_and_runs_nothing(admin, database, tmp_path):
    client, _ = admin
    marker = tmp_path / "ran"
    name = "ack/id/body.txt"
    escape = "{{ cycler.__init__.__globals__.os.popen('touch %s').read() }}" % marker
    page = client.post(f"/admin/mail-templates/{name}?lang=en", data={"text": escape})
    assert page.status_code == 400
    assert 'id="text-error"' in page.text and "Not saved" in page.text and "unsafe" in page.text
    assert not database.settings.path("templates", "mail", name).exists()
    assert not marker.exists()


def test_a_broken_copy_in_the_data_dir_is_listed_as_unused(admin, database, tmp_path):
    client, _ = admin
    name = "ack/en/subject.txt"
    own = database.settings.path("templates", "mail", name)
    own.parent.mkdir(parents=True)
    own.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    listing = client.get("/admin/mail-templates?lang=en").text
    assert 'id="broken-templates"' in listing and f"{name}</a>: not allowed in a mail template" in listing
    assert "shipped wording" in client.get(f"/admin/mail-templates/{name}?lang=en").text
    own.write_text("Received: {{ subject }}")
    assert 'id="broken-templates"' not in client.get("/admin/mail-templates?lang=en").text


SPOOFED = Verdict(source="checked", spf="fail", spf_domain="luar.test", dmarc="fail", dmarc_policy="reject",
                  from_domain="luar.test")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def test_an_admin_releases_a_spoofed_mail_anyway_with_the_csrf_token(app, database):
    app.config["WTF_CSRF_ENABLED"] = True
    world = build_world(database)
    raw_bytes = RAW.replace(b"sman1@sekolah.test", b"budi@luar.test")
    sha = Store(database.settings.path("store")).put(raw_bytes)
    with database.begin() as s:
        raw = RawMail(channel="smtp", envelope_from="budi@luar.test", sha256=sha, size=len(raw_bytes),
                      outcome=Outcome.quarantined, auth=SPOOFED.as_json(),
                      reason="spoofed: DMARC fails for luar.test (p=reject; spf=fail dkim=none dmarc=fail)")
        plain = RawMail(channel="smtp", sha256="3" * 64, size=3, outcome=Outcome.quarantined, reason="junk")
        s.add_all([raw, plain])
        s.flush()
        raw_id, plain_id = raw.id, plain.id
    client = app.test_client()
    client.post("/login", data={"email": world.emails["min"], "password": PASSWORD,
                                "csrf_token": csrf_of(client.get("/login").text)})
    page = client.get(f"/admin/quarantine/{raw_id}?lang=en").text
    assert "Release anyway" in page
    assert "Release anyway" not in client.get(f"/admin/quarantine/{plain_id}?lang=en").text
    assert client.post(f"/admin/quarantine/{raw_id}/release-anyway").status_code == 400  # no token
    token = csrf_of(page)
    assert client.post(f"/admin/quarantine/{plain_id}/release-anyway",
                       data={"csrf_token": token}).status_code == 404  # nothing to release it despite
    assert client.post(f"/admin/quarantine/{raw_id}/release-anyway", data={"csrf_token": token}).status_code == 302
    with database.session() as s:
        event = s.scalar(select(Event).where(Event.kind == "quarantine_released_despite_auth"))
        admin = s.scalar(select(User).where(User.email == world.emails["min"]))
        assert (event.actor_id, event.to_value) == (admin.id, f"raw mail {raw_id}")
        assert event.detail == ("despite: spoofed: DMARC fails for luar.test "
                                "(p=reject; spf=fail dkim=none dmarc=fail)")
    assert reprocess_requested(database).done == 1  # what the periodic task runs
    with database.session() as s:
        assert s.get(RawMail, raw_id).outcome is Outcome.new_ticket
        assert s.scalar(select(Ticket).where(Ticket.subject == "Data siswa hilang")) is not None


def test_the_directory_import_report_reads_in_the_visitors_language(admin):
    client, _ = admin
    upload = ("code,name,kind,parent_code,email\n"
              "S901,SMA 901,school,NOPE,s901@sekolah.test\n"
              "S902,SMA 902,School,C3171,s902@sekolah.test\n").encode()
    page = client.post("/admin/directory?lang=id", data={"file": (io.BytesIO(upload), "sekolah.csv")},
                       content_type="multipart/form-data").text
    assert "induk NOPE tidak dikenal" in page
    assert "jenis &#39;School&#39; harus satu kata huruf kecil seperti school atau city" in page
    assert "unknown parent" not in page and "must be a lowercase" not in page
    english = client.post("/admin/directory?lang=en", data={"file": (io.BytesIO(upload), "sekolah.csv")},
                          content_type="multipart/form-data").text
    assert "unknown parent NOPE" in english


def test_quarantine_reasons_read_in_the_visitors_language(admin, database):
    client, _ = admin
    with database.begin() as s:
        raw = RawMail(channel="smtp", sha256="4" * 64, size=1300, outcome=Outcome.quarantined,
                      reason="spoofed: DMARC fails for luar.test (p=reject; spf=fail dkim=none dmarc=fail)")
        s.add(raw)
        s.flush()
        raw_id = raw.id
    indonesian = "dipalsukan: DMARC gagal untuk luar.test (p=reject; spf=fail dkim=none dmarc=fail)"
    listing = client.get("/admin/quarantine?lang=id").text
    assert indonesian in listing and "<td>1,3 KB</td>" in listing
    assert indonesian in client.get(f"/admin/quarantine/{raw_id}?lang=id").text
    assert "spoofed: DMARC fails" in client.get(f"/admin/quarantine/{raw_id}?lang=en").text


def test_the_rules_page_shows_defaults_as_the_language_writes_them(admin):
    client, _ = admin
    page = client.get("/admin/policy?lang=id").text
    assert "Bawaan: 5.242.880" in page and "Bawaan: nonaktif" in page
    assert "Bawaan: False" not in page
    assert "Default: 5,242,880" in client.get("/admin/policy?lang=en").text


def test_mail_the_worker_has_not_moved_for_long_is_shown_to_the_admins(admin, database):
    """A few seconds in the spool are normal and not shown; ten minutes mean
    the worker does not run or the store cannot be written."""
    from datetime import timedelta

    from freezegun import freeze_time

    from core.models import utcnow
    from mailin.pipeline import ingest

    client, _ = admin
    received = utcnow()
    with freeze_time(received):
        ingest(database, RAW, "sman1@sekolah.test", ("helpdesk@helpdesk.test",), "smtp")
        assert "file store" not in client.get("/admin/quarantine?lang=en").get_data(as_text=True)
    with freeze_time(received + timedelta(minutes=11)):
        page = client.get("/admin/quarantine?lang=en").get_data(as_text=True)
        assert "1 received message has waited since" in page and "worker" in page
        assert "menunggu sejak" in client.get("/admin/quarantine?lang=id").get_data(as_text=True)
