"""The public new-ticket form: a person gets a reference, a robot gets nothing."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from core.config.policy import update_policy
from core.config.settings import load_settings
from core.models import Outbox, Ticket
from portal import create_app
from tests.portal.public_helpers import hidden, png, seed

START = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
FIELDS = {"name": "Bu Sari", "email": "sari@example.test", "school": "", "category": "0",
          "subject": "Akun operator terkunci", "body": "Akun operator kami terkunci sejak kemarin."}


@pytest.fixture
def client(app, database):
    seed(database)
    return app.test_client()


def open_form(client, lang: str = "en") -> dict:
    page = client.get(f"/?lang={lang}")
    assert page.status_code == 200
    return {"csrf_token": hidden(page.text, "csrf_token"), "stamp": hidden(page.text, "stamp")}


def send(client, form: dict, ip: str = "192.0.2.10", files=None, **changes):
    data = {**FIELDS, **form, **changes}
    if files:
        data["attachments"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/", data=data, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": ip})


def tickets(database) -> list[Ticket]:
    with database.begin() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def test_a_person_gets_a_reference_and_the_acknowledgement_is_queued(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        answer = send(client, form, files=[("layar.png", png())], category="2")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sent")
    [ticket] = tickets(database)
    sent = client.get("/sent")
    assert ticket.ref in sent.text and "sari@example.test" in sent.text
    with database.begin() as s:
        ticket = s.get(Ticket, ticket.id)
        [message] = ticket.messages
        assert message.channel == "web" and message.text == FIELDS["body"]
        assert [(a.filename, a.content_type) for a in message.attachments] == [("layar.png", "image/png")]
        assert ticket.category.name == "NUPTK" and ticket.language == "en"
        assert ticket.office.code == "MIN"  # a stranger's ticket goes to triage
        [ack] = s.scalars(select(Outbox).where(Outbox.template == "ack"))  # triage also hears no agent took it
        assert (ack.template, ack.to_address, ack.ticket_id) == ("ack", "sari@example.test", ticket.id)
        assert "/t/" not in ack.context  # the outbox never holds a working link


def test_a_named_school_holds_the_ticket_at_its_city(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        assert send(client, form, school="s001").status_code == 302
    with database.begin() as s:
        ticket = s.scalar(select(Ticket))
        assert (ticket.school.code, ticket.office.code) == ("S001", "C3171")


def test_an_unknown_school_is_refused_next_to_its_field_and_the_typing_is_kept(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        page = send(client, form, school="S999", files=[("layar.png", png())])
    assert page.status_code == 400 and not tickets(database)
    assert 'id="school-errors"' in page.text and "We do not know this school" in page.text
    assert 'value="Bu Sari"' in page.text and FIELDS["body"] in page.text
    assert "files are not kept" in page.text


def test_a_robot_filling_the_honeypot_is_refused(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        page = send(client, form, website="http://spam.example/")
    assert page.status_code == 400 and "leave the last field empty" in page.text
    assert not tickets(database)


def test_a_submission_within_two_seconds_is_refused_and_may_be_sent_again(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(1)
        page = send(client, form)
        assert page.status_code == 400 and "very quick" in page.text
        assert FIELDS["subject"] in page.text
        clock.tick(5)
        again = send(client, {**form, "stamp": hidden(page.text, "stamp")})
    assert again.status_code == 302 and len(tickets(database)) == 1


def test_a_replayed_stamp_is_refused(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        assert send(client, form).status_code == 302
        replay = send(client, form, subject="Sekali lagi")
    assert replay.status_code == 400 and "already sent" in replay.text
    assert len(tickets(database)) == 1


@pytest.mark.parametrize("stamp", ["", "1795400000.abc.0000000000000000", "not-a-stamp"])
def test_a_forged_stamp_is_refused(client, database, stamp):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        assert send(client, {**form, "stamp": stamp}).status_code == 400
    assert not tickets(database)


def test_a_stamp_older_than_six_hours_is_refused(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(7 * 3600)
        assert "expired" in send(client, form).text
    assert not tickets(database)


def test_a_flood_from_one_address_is_refused_after_the_hourly_limit(client, database):
    with freeze_time(START) as clock:
        answers = []
        for n in range(6):
            form = open_form(client)
            clock.tick(30)
            answers.append(send(client, form, ip=f"192.0.2.{n + 1}", subject=f"Soal {n}").status_code)
    assert answers == [302] * 5 + [429]
    assert len(tickets(database)) == 5


def test_tagged_and_trailing_dot_spellings_count_as_one_address(client, database):
    spellings = ["sari@example.test", "Sari+1@example.test", "sari+rapor@EXAMPLE.test.", "sari@example.test..",
                 "SARI+x@example.test", "sari+lagi@example.test"]
    with freeze_time(START) as clock:
        answers = []
        for n, email in enumerate(spellings):
            form = open_form(client)
            clock.tick(30)
            answers.append(send(client, form, ip=f"192.0.2.{n + 1}", email=email, subject=f"Soal {n}").status_code)
    assert answers == [302] * 5 + [429]
    assert len(tickets(database)) == 5


@pytest.mark.parametrize("field, value", [("stamp", "\u0661\u0662\u0663.abc.\u00e9\u00e9"),
                                          ("stamp", "1795400000.abc.\u00e9t\u00e9"),
                                          ("csrf_token", "\u00e9t\u00e9.\u00e9t\u00e9")])
def test_a_non_ascii_stamp_or_csrf_value_is_refused_with_400(client, database, field, value):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        assert send(client, {**form, field: value}).status_code == 400
    assert not tickets(database)


def test_a_flood_from_one_ip_is_refused_whatever_the_address(client, database):
    with database.begin() as s:
        update_policy(s, "admin", web_posts_per_ip_hour=3)
    with freeze_time(START) as clock:
        answers = []
        for n in range(4):
            form = open_form(client)
            clock.tick(30)
            answers.append(send(client, form, email=f"orang{n}@example.test").status_code)
        clock.tick(3601)
        form = open_form(client)
        clock.tick(30)
        later = send(client, form, email="besok@example.test").status_code
    assert answers == [302, 302, 302, 429] and later == 302


def test_a_message_full_of_links_is_refused(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        page = send(client, form, body="Murah! https://a.example/1 https://b.example/2 www.c.example http://d.example")
    assert page.status_code == 400 and "at most 3 links" in page.text
    assert not tickets(database)


def test_a_dangerous_file_is_refused_by_name_and_nothing_is_opened(client, database):
    with freeze_time(START) as clock:
        form = open_form(client)
        clock.tick(30)
        page = send(client, form, files=[("halaman.html", b"<html><script>alert(1)</script></html>")])
    assert page.status_code == 400 and "halaman.html was not accepted" in page.text
    assert not tickets(database)


def test_missing_fields_are_named_in_indonesian(client, database):
    with freeze_time(START) as clock:
        form = open_form(client, lang="id")
        clock.tick(30)
        page = send(client, form, name="", body="")
    assert page.status_code == 400
    assert 'lang="id"' in page.text and "Mohon tuliskan nama Anda." in page.text
    assert 'aria-invalid="true"' in page.text


def test_the_form_sends_the_security_headers_and_no_inline_code(client):
    page = client.get("/")
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page.text and "style=" not in page.text
    assert 'class="hp"' in page.text


def flood_behind_a_proxy(client, database) -> list[int]:
    """Four posts through one proxy (one peer address), each from another client address."""
    with database.begin() as s:
        update_policy(s, "admin", web_posts_per_ip_hour=3)
    answers = []
    with freeze_time(START) as clock:
        for n in range(4):
            form = open_form(client)
            clock.tick(30)
            answers.append(client.post("/", data={**FIELDS, **form, "email": f"orang{n}@example.test"},
                                       environ_base={"REMOTE_ADDR": "10.0.0.2"},
                                       headers={"X-Forwarded-For": f"198.51.100.{n + 1}"}).status_code)
    return answers


def test_behind_a_trusted_proxy_the_limit_counts_each_client_address(database):
    seed(database)
    app = create_app(replace(database.settings, trusted_proxies=1), database)
    assert flood_behind_a_proxy(app.test_client(), database) == [302] * 4


def test_without_trusted_proxies_a_forwarded_address_is_ignored(client, database):
    assert flood_behind_a_proxy(client, database) == [302, 302, 302, 429]


def test_the_number_of_trusted_proxies_comes_from_the_environment(tmp_path):
    environ = {"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_SECRET_KEY": "k"}
    assert load_settings(environ).trusted_proxies == 0
    assert load_settings({**environ, "HELPDESK_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
