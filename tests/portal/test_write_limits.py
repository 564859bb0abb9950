"""Limits on the portal's write paths anyone can reach without logging in:
replies on the private page and password-reset mails, through the real
portal (Flask's test client) on a real database, with frozen time."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from core.config.policy import update_policy
from core.models import Direction, Message, Outbox
from tests.factories import load_directory, make_user
from tests.portal.public_helpers import hidden, make_ticket, png, seed

START = datetime(2026, 3, 2, 8, 0, 0)
NEUTRAL = "If the address belongs to an account, a link to set a new password is on its way."


def reply(client, token: str, body: str, files=(), ip: str = "203.0.113.7"):
    page = client.get(f"/t/{token}?lang=en")
    data = {"csrf_token": hidden(page.text, "csrf_token"), "body": body,
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/t/{token}/reply", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ip})


def web_replies(database, ticket_id: int) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Message).where(
            Message.ticket_id == ticket_id, Message.direction == Direction.inbound, Message.channel == "web"))


@pytest.fixture
def public(app, database):
    seed(database)
    return app.test_client()


def test_the_61st_reply_in_a_minute_from_one_client_is_refused_with_its_text_kept(public, database):
    tickets = [make_ticket(database, sender=sender) for sender in (
        "sman1@sekolah.test", "sman8@sekolah.test", "smkn26@sekolah.test", "sman3bdg@sekolah.test")]
    with freeze_time(START) as clock:
        for number in range(60):
            ticket_id, token = tickets[number % 3]  # 20 each: the per-ticket limit is not what stops it
            assert reply(public, token, f"Balasan {number}").status_code == 302
            clock.tick(0.5)
        refused = reply(public, tickets[0][1], "Balasan ke-61, jangan hilang")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "Too many replies were sent in the last minute" in refused.text
        assert "Balasan ke-61, jangan hilang" in refused.text  # the text is kept for the next try
        assert web_replies(database, tickets[0][0]) == 20
        # Another client is not held back by this one.
        assert reply(public, tickets[3][1], "Dari sekolah lain", ip="198.51.100.9").status_code == 302
        clock.tick(31)  # the first replies leave the window
        assert reply(public, tickets[0][1], "Sudah lewat semenit").status_code == 302


def test_a_ticket_takes_at_most_20_replies_a_minute_and_the_refusal_is_in_indonesian(public, database):
    ticket_id, token = make_ticket(database)
    with freeze_time(START):
        for number in range(20):
            assert reply(public, token, f"Balasan {number}", ip=f"198.51.100.{number}").status_code == 302
        page = public.get(f"/t/{token}?lang=id")
        refused = public.post(f"/t/{token}/reply", data={"csrf_token": hidden(page.text, "csrf_token"),
                                                         "body": "Satu lagi"}, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert refused.status_code == 429
    assert "Terlalu banyak balasan dikirim dalam satu menit terakhir" in refused.text
    assert web_replies(database, ticket_id) == 20


def test_files_past_the_hourly_budget_of_a_ticket_are_refused_before_they_are_inspected(public, database):
    ticket_id, token = make_ticket(database)
    picture = png(1200, 900, "navy")
    with database.begin() as s:
        update_policy(s, web_upload_bytes_per_ticket_hour=3 * len(picture))
    with freeze_time(START) as clock:
        assert reply(public, token, "Tiga gambar", files=[(f"{n}.png", picture) for n in range(3)]).status_code == 302
        clock.tick(60)
        refused = reply(public, token, "Satu lagi", files=[("lagi.png", picture)])
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
        assert "This ticket has received too many files in the last hour" in refused.text
        assert "Satu lagi" in refused.text
        assert reply(public, token, "Tanpa berkas masih boleh").status_code == 302
        clock.tick(3600)
        assert reply(public, token, "Sejam kemudian", files=[("lagi.png", picture)]).status_code == 302
    assert web_replies(database, ticket_id) == 3


def test_refused_files_still_use_up_the_budget(public, database):
    ticket_id, token = make_ticket(database)
    program = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 5000
    with database.begin() as s:
        update_policy(s, web_upload_bytes_per_ticket_hour=len(program) + 100)
    with freeze_time(START):
        assert reply(public, token, "Berkas", files=[("x.exe", program)]).status_code == 400  # refused: not a kind we take
        assert reply(public, token, "Lagi", files=[("x.exe", program)]).status_code == 429  # and not inspected again


def test_a_limit_of_zero_means_no_limit(public, database):
    ticket_id, token = make_ticket(database)
    with database.begin() as s:
        update_policy(s, web_replies_per_ticket_minute=0, web_replies_per_ip_minute=0)
    with freeze_time(START):
        for number in range(25):
            assert reply(public, token, f"Balasan {number}").status_code == 302


@pytest.fixture
def staff(client, database):
    with database.begin() as s:
        offices = load_directory(s)
        make_user(s, offices["C3171"], email="agent@staff.test")
    return client


def reset(client, email: str, ip: str = "203.0.113.7"):
    return client.post("/password/forgot?lang=en", data={"email": email}, environ_base={"REMOTE_ADDR": ip},
                       follow_redirects=True)


def reset_mails(database, to: str) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.template == "password_reset", Outbox.to_address == to))


def test_the_6th_reset_mail_in_an_hour_is_refused_with_the_same_answer(staff, database):
    answers = []
    with freeze_time(START) as clock:
        for number in range(6):
            answers.append(reset(staff, "agent@staff.test", ip=f"198.51.100.{number}"))
            clock.tick(60)
        assert reset_mails(database, "agent@staff.test") == 5
        assert [answer.status_code for answer in answers] == [200] * 6
        assert all(NEUTRAL in answer.text for answer in answers)  # the sixth says nothing more
        clock.tick(timedelta(hours=1) - timedelta(minutes=5))  # the first request leaves the window
        reset(staff, "agent@staff.test", ip="198.51.100.99")
    assert reset_mails(database, "agent@staff.test") == 6


def test_one_client_asking_for_many_addresses_is_stopped_after_20(staff, database):
    with database.begin() as s:
        offices = load_directory(s)
        for n in range(3):
            make_user(s, offices["C3171"], email=f"staff{n}@staff.test")
    with freeze_time(START):
        for n in range(20):
            reset(staff, f"nobody{n}@staff.test")
        answer = reset(staff, "staff0@staff.test")
        assert answer.status_code == 200 and NEUTRAL in answer.text
        assert reset_mails(database, "staff0@staff.test") == 0
        reset(staff, "staff1@staff.test", ip="192.0.2.50")  # another client still gets through
    assert reset_mails(database, "staff1@staff.test") == 1
