"""The private ticket page: the token opens one ticket's public thread, and nothing else."""
from __future__ import annotations

import io
import secrets

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import update_policy
from core.models import Direction, Event, Message, Status, Ticket
from core.tickets.requester import reissue_link
from tests.portal.public_helpers import hidden, make_ticket, png, seed

HTML = b"<!doctype html><html><body><script>document.location='https://evil.example'</script></body></html>"


@pytest.fixture
def client(app, database):
    seed(database)
    return app.test_client()


def attachment_ids(database, ticket_id: int, direction: Direction) -> dict[str, int]:
    with database.begin() as s:
        messages = s.scalars(select(Message).where(Message.ticket_id == ticket_id, Message.direction == direction))
        return {a.filename: a.id for m in messages for a in m.attachments}


def test_the_page_shows_the_public_thread_status_and_office_but_never_notes(client, database):
    ticket_id, token = make_ticket(database, files={"panduan.pdf": (b"%PDF-1.4 x", "application/pdf")})
    page = client.get(f"/t/{token}?lang=en")
    assert page.status_code == 200
    assert "Sinkronisasi gagal terus." in page.text and "Silakan coba lagi setelah pembaruan." in page.text
    assert "Answered: waiting for you" in page.text and "Dinas Pendidikan Jakarta Selatan" in page.text
    assert "panduan.pdf" in page.text
    assert "internal: the operator is new" not in page.text and "secret.txt" not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "private" in page.headers["Cache-Control"]


def test_a_notes_attachment_is_never_served(client, database):
    ticket_id, token = make_ticket(database)
    [secret_id] = attachment_ids(database, ticket_id, Direction.note).values()
    assert client.get(f"/t/{token}/a/{secret_id}").status_code == 404


def test_a_token_for_one_ticket_never_shows_another(client, database):
    a_id, a_token = make_ticket(database, subject="Ticket A", files={"a.pdf": (b"%PDF-1.4 a", "application/pdf")})
    b_id, b_token = make_ticket(database, sender="sman8@sekolah.test", subject="Ticket B",
                                files={"b.pdf": (b"%PDF-1.4 b", "application/pdf")})
    page = client.get(f"/t/{a_token}")
    assert "Ticket A" in page.text and "Ticket B" not in page.text
    b_file = attachment_ids(database, b_id, Direction.outbound)["b.pdf"]
    assert client.get(f"/t/{a_token}/a/{b_file}").status_code == 404
    assert client.get(f"/t/{a_token}/a/{b_file}/thumb").status_code == 404
    assert client.get(f"/t/{b_token}/a/{b_file}").status_code == 200


def test_a_bad_token_answers_exactly_like_a_missing_ticket(client, database):
    ticket_id, token = make_ticket(database)
    with database.begin() as s:
        reissue_link(s, database.settings, s.get(Ticket, ticket_id), "agent@staff.test")
    answers = [client.get(f"/t/{candidate}?lang=en") for candidate in
               (token, secrets.token_urlsafe(32), "x", "A" * 300)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.data for a in answers}) == 1
    assert client.get(f"/t/{token}/a/1").status_code == 404


def test_a_reissued_link_opens_the_ticket_and_is_audited(client, database):
    ticket_id, old = make_ticket(database)
    with database.begin() as s:
        new = reissue_link(s, database.settings, s.get(Ticket, ticket_id), "agent@staff.test")
        assert s.scalar(select(Event.kind).where(Event.ticket_id == ticket_id, Event.kind == "link_reissued"))
    assert client.get(f"/t/{new}").status_code == 200 and client.get(f"/t/{old}").status_code == 404


def test_an_expired_link_is_a_plain_404(client, database):
    with freeze_time("2026-01-01"):
        ticket_id, token = make_ticket(database)
    with database.begin() as s:
        update_policy(s, "admin", token_days=30)
    assert client.get(f"/t/{token}").status_code == 404


def test_an_uploaded_html_file_is_served_as_a_download_never_as_a_page(client, database):
    ticket_id, token = make_ticket(database, files={"halaman.html": (HTML, "text/html")})
    file_id = attachment_ids(database, ticket_id, Direction.outbound)["halaman.html"]
    answer = client.get(f"/t/{token}/a/{file_id}")
    assert answer.status_code == 200 and answer.data == HTML
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_pdf_downloads_with_its_type_and_a_picture_shows_inline_with_a_small_thumbnail(client, database):
    picture = png(2000, 1500)
    ticket_id, token = make_ticket(database, files={"foto layar.png": (picture, "image/png"),
                                                    "surat.pdf": (b"%PDF-1.4 s", "application/pdf")})
    ids = attachment_ids(database, ticket_id, Direction.outbound)
    pdf = client.get(f"/t/{token}/a/{ids['surat.pdf']}")
    assert pdf.headers["Content-Type"] == "application/pdf" and "attachment" in pdf.headers["Content-Disposition"]
    image = client.get(f"/t/{token}/a/{ids['foto layar.png']}")
    assert image.headers["Content-Type"] == "image/png" and image.headers["Content-Disposition"].startswith("inline")
    thumb = client.get(f"/t/{token}/a/{ids['foto layar.png']}/thumb")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    assert len(thumb.data) < len(picture) / 4
    assert (database.settings.path("thumbs")).exists()  # cached for the next visitor
    assert client.get(f"/t/{token}/a/{ids['surat.pdf']}/thumb").status_code == 404
    assert f"/t/{token}/a/{ids['foto layar.png']}/thumb" in client.get(f"/t/{token}").text


def reply(client, token: str, body: str, files=()):
    page = client.get(f"/t/{token}")
    data = {"csrf_token": hidden(page.text, "csrf_token"), "body": body,
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/t/{token}/reply", data=data, content_type="multipart/form-data")


def test_a_reply_with_a_picture_lands_on_the_ticket_and_reopens_it(client, database):
    ticket_id, token = make_ticket(database)
    answer = reply(client, token, "Masih gagal, lihat gambar.", files=[("layar.png", png())])
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/t/{token}#latest")
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        last = ticket.messages[-1]
        assert ticket.status is Status.open
        assert (last.direction, last.channel, last.text) == (Direction.inbound, "web", "Masih gagal, lihat gambar.")
        assert [a.filename for a in last.attachments] == ["layar.png"]
    assert "/thumb" in client.get(f"/t/{token}").text


def test_a_refused_reply_keeps_the_text_and_names_the_file(client, database):
    ticket_id, token = make_ticket(database)
    page = reply(client, token, "Ini berkasnya.", files=[("x.exe", b"MZ\x90\x00\x03\x00\x00\x00")])
    assert page.status_code == 400 and "x.exe" in page.text and "Ini berkasnya." in page.text
    with database.begin() as s:
        assert len(s.get(Ticket, ticket_id).messages) == 3


def test_a_reply_long_after_closing_opens_a_continuing_ticket_and_goes_there(client, database):
    with freeze_time("2026-01-01"):
        ticket_id, token = make_ticket(database, status=Status.closed)
        with database.begin() as s:
            s.get(Ticket, ticket_id).closed_at = s.get(Ticket, ticket_id).created_at
    answer = reply(client, token, "Masalah yang sama muncul lagi.")
    assert answer.status_code == 302 and f"/t/{token}" not in answer.headers["Location"]
    page = client.get(answer.headers["Location"])
    assert "Masalah yang sama muncul lagi." in page.text
    with database.begin() as s:
        new = s.scalar(select(Ticket).where(Ticket.continues_id == ticket_id))
        assert new is not None and new.ref in page.text


def press(client, token: str, which: str):
    page = client.get(f"/t/{token}")
    return client.post(f"/t/{token}/{which}", data={"csrf_token": hidden(page.text, "csrf_token")})


def test_this_solved_it_closes_the_ticket(client, database):
    ticket_id, token = make_ticket(database)
    assert press(client, token, "solved").status_code == 302
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        assert (ticket.status, ticket.satisfied) == (Status.closed, True)
    assert "Did our answer solve" not in client.get(f"/t/{token}?lang=en").text


def test_still_a_problem_sends_it_back_to_open(client, database):
    ticket_id, token = make_ticket(database)
    assert press(client, token, "unsolved").headers["Location"].endswith("#reply")
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        assert (ticket.status, ticket.satisfied) == (Status.open, False)


def test_the_buttons_move_nothing_while_staff_still_work_on_it(client, database):
    ticket_id, token = make_ticket(database, status=Status.open)
    assert "Did our answer solve" not in client.get(f"/t/{token}?lang=en").text
    press(client, token, "solved")
    with database.begin() as s:
        assert s.get(Ticket, ticket_id).status is Status.open


def test_a_button_without_the_csrf_token_is_refused(client, database):
    ticket_id, token = make_ticket(database)
    assert client.post(f"/t/{token}/solved").status_code == 400
    with database.begin() as s:
        assert s.get(Ticket, ticket_id).status is Status.answered


def test_a_cached_page_shows_a_new_answer_and_a_status_change_at_once(client, database):
    ticket_id, token = make_ticket(database)
    first = client.get(f"/t/{token}?lang=en")
    assert client.get(f"/t/{token}?lang=en").data == first.data  # the second visit is the cached page
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        s.add(Message(ticket=ticket, direction=Direction.outbound, text="Sudah kami perbaiki."))
    assert "Sudah kami perbaiki." in client.get(f"/t/{token}?lang=en").text
    with database.begin() as s:
        s.get(Ticket, ticket_id).status = Status.closed
    page = client.get(f"/t/{token}?lang=en").text
    assert "Did our answer solve" not in page and "This ticket is closed" in page


def test_a_cached_page_follows_a_change_of_holding_office(client, database):
    ticket_id, token = make_ticket(database)
    assert "Dinas Pendidikan Jakarta Selatan" in client.get(f"/t/{token}").text
    with database.begin() as s:
        s.get(Ticket, ticket_id).office.name = "Dinas Pendidikan Kota Baru"
    assert "Dinas Pendidikan Kota Baru" in client.get(f"/t/{token}").text


def test_a_revoked_link_stops_at_once_even_after_its_page_was_cached(client, database):
    ticket_id, token = make_ticket(database)
    assert client.get(f"/t/{token}").status_code == 200
    with database.begin() as s:
        new = reissue_link(s, database.settings, s.get(Ticket, ticket_id), "agent@staff.test")
    assert client.get(f"/t/{token}").status_code == 404
    assert client.get(f"/t/{new}").status_code == 200


def test_a_shorter_link_lifetime_applies_at_once_to_a_page_already_seen(client, database):
    with freeze_time("2026-01-01"):
        ticket_id, token = make_ticket(database)
    assert client.get(f"/t/{token}").status_code == 200
    with database.begin() as s:
        update_policy(s, "admin", token_days=30)
    assert client.get(f"/t/{token}").status_code == 404


def test_reading_the_page_sets_no_cookie_but_its_forms_carry_a_csrf_token(client, database):
    ticket_id, token = make_ticket(database)
    page = client.get(f"/t/{token}")
    assert "Set-Cookie" not in page.headers
    assert page.headers["Content-Security-Policy"] and page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.text.count('name="csrf_token"') == 3  # the two buttons and the reply


def test_a_form_token_of_another_ticket_is_refused(client, database):
    a_id, a_token = make_ticket(database)
    b_id, b_token = make_ticket(database, sender="sman8@sekolah.test")
    b_value = hidden(client.get(f"/t/{b_token}").text, "csrf_token")
    assert client.post(f"/t/{a_token}/solved", data={"csrf_token": b_value}).status_code == 400
    answer = client.post(f"/t/{a_token}/reply", data={"csrf_token": b_value, "body": "Halo"})
    assert answer.status_code == 400
    with database.begin() as s:
        ticket = s.get(Ticket, a_id)
        assert ticket.status is Status.answered and len(ticket.messages) == 3


@pytest.mark.parametrize("value", ["\u00e9t\u00e9", "\u0661" * 40, "x" * 39 + "\u00e9"])
def test_a_non_ascii_form_token_is_refused_with_400(client, database, value):
    ticket_id, token = make_ticket(database)
    assert client.post(f"/t/{token}/solved", data={"csrf_token": value}).status_code == 400
    assert client.post(f"/t/{token}/reply", data={"csrf_token": value, "body": "Halo"}).status_code == 400
    with database.begin() as s:
        assert s.get(Ticket, ticket_id).status is Status.answered
