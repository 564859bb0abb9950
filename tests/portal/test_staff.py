"""The staff portal through Flask's test client on a real database."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.models import Outbox, Status, User
from tests.portal.staff_world import log_in, ticket_of


def test_logging_in_makes_the_agent_available_and_logging_out_not(client, database, world):
    response = log_in(client, world.emails["c3171"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/")
    with database.session() as s:
        assert s.scalar(select(User.available).where(User.email == world.emails["c3171"])) is True
    client.post("/logout")
    with database.session() as s:
        assert s.scalar(select(User.available).where(User.email == world.emails["c3171"])) is False
    assert client.get("/staff/").status_code == 302


def test_a_wrong_password_is_refused_with_the_same_words_as_an_unknown_address(client, world):
    wrong = log_in(client, world.emails["c3171"], "not the password")
    unknown = log_in(client, "nobody@staff.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password" in wrong.text or "Email atau kata sandi salah" in wrong.text
    alert = re.compile(r'<p class="error" role="alert">.*?</p>')
    assert alert.findall(wrong.text) == alert.findall(unknown.text)


def test_the_next_parameter_never_leaves_the_site(client, world):
    response = client.post("/login?next=//evil.example/x", data={
        "email": world.emails["c3171"], "password": "correct horse battery"})
    assert response.headers["Location"] == "/staff/"


def test_logging_in_hands_the_agent_the_oldest_unassigned_ticket(client, database, world):
    log_in(client, world.emails["c3171"])
    assert ticket_of(database, world.refs["sman1"]).assignee.email == world.emails["c3171"]
    assert world.refs["sman1"] in client.get("/staff/?queue=mine").text


def test_the_queues_show_the_office_tickets_and_counts(client, world):
    log_in(client, world.emails["c3171"])
    page = client.get("/staff/?queue=open&lang=en")
    assert page.status_code == 200
    assert world.refs["sman1"] in page.text and world.refs["sman8"] in page.text
    assert world.refs["smkn26"] not in page.text  # a sibling city's ticket


def test_reply_sets_answered_and_queues_the_customer_mail_in_one_action(client, database, world):
    log_in(client, world.emails["c3171"])
    ref = world.refs["sman1"]
    response = client.post(f"/staff/tickets/{ref}/reply", data={"text": "NUPTK sudah kami proses.",
                                                                "status": "answered"})
    assert response.status_code == 302
    ticket = ticket_of(database, ref)
    assert ticket.status is Status.answered and ticket.first_response_at is not None
    with database.session() as s:
        mail = s.scalar(select(Outbox).where(Outbox.ticket_id == ticket.id, Outbox.template == "staff_reply"))
        assert mail.to_address == "sman1@sekolah.test" and mail.in_reply_to == "<sman1@sekolah.test>"
        assert "NUPTK sudah kami proses." in mail.context
    page = client.get(f"/staff/tickets/{ref}?lang=en")
    assert "NUPTK sudah kami proses." in page.text and "Answered" in page.text


def test_forwarding_moves_the_ticket_to_the_province_which_sees_it(app, database, world):
    app.config["WTF_CSRF_ENABLED"] = False
    city, province = app.test_client(), app.test_client()
    log_in(city, world.emails["c3171"])
    ref = world.refs["sman8"]
    city.post(f"/staff/tickets/{ref}/forward", data={"note": "Perlu keputusan provinsi."})
    ticket = ticket_of(database, ref)
    assert ticket.status is Status.forwarded and ticket.office.code == "P31"
    log_in(province, world.emails["p31"])
    assert ref in province.get("/staff/?queue=forwarded").text
    # Held above the city now: the city still reads it (the school may phone), but acts no more.
    page = city.get(f"/staff/tickets/{ref}?lang=en")
    assert page.status_code == 200 and "Read only" in page.text
    assert city.post(f"/staff/tickets/{ref}/note", data={"text": "x"}).status_code == 403


def test_a_sibling_city_gets_404_and_finds_nothing(client, world):
    log_in(client, world.emails["c3172"])
    ref = world.refs["sman1"]
    assert client.get(f"/staff/tickets/{ref}").status_code == 404
    assert client.post(f"/staff/tickets/{ref}/reply", data={"text": "x"}).status_code == 404
    found = client.get("/staff/search?q=NUPTK")
    assert ref not in found.text
    assert client.get(f"/staff/search?q={ref}").status_code == 200  # no jump to a ticket it may not see


def test_the_province_reads_a_city_ticket_but_cannot_act_on_it(client, world):
    log_in(client, world.emails["p31"])
    ref = world.refs["sman1"]
    page = client.get(f"/staff/tickets/{ref}?lang=en")
    assert page.status_code == 200 and "Read only" in page.text and "Send reply" not in page.text
    assert 'id="incident"' not in page.text  # nothing to show or do there: no empty heading
    assert client.post(f"/staff/tickets/{ref}/reply", data={"text": "x"}).status_code == 403
    assert ref in client.get("/staff/?queue=below").text


def test_search_by_reference_jumps_to_the_ticket(client, world):
    log_in(client, world.emails["c3171"])
    ref = world.refs["sman1"]
    response = client.get(f"/staff/search?q={ref.lower()}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/tickets/{ref}")
    words = client.get("/staff/search?q=sinkronisasi")
    assert world.refs["sman8"] in words.text and ref not in words.text


def test_forms_without_the_csrf_token_are_refused(app, world):
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    log_in(client, world.emails["c3171"])
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/staff/tickets/{world.refs['sman1']}/take").status_code == 400


def test_the_reply_reaches_the_school_through_a_real_relay(client, database, world):
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    from mailout.deliver import deliver_due
    from mailout.transport import RelayTransport

    class Sink:
        def __init__(self):
            self.mails = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        log_in(client, world.emails["c3171"])
        ref = world.refs["sman1"]
        client.post(f"/staff/tickets/{ref}/reply", data={"text": "NUPTK sudah terbit minggu ini."})
        report = deliver_due(database, transport=RelayTransport("127.0.0.1", port))
    finally:
        relay.stop()
    assert report.sent >= 1
    replies = [message_from_bytes(content, policy=policy.default) for rcpt, content in sink.mails
               if rcpt == ["sman1@sekolah.test"] and b"NUPTK sudah terbit" in content]
    assert len(replies) == 1
    mail = replies[0]
    assert f"[{ref}]" in mail["Subject"] and mail["In-Reply-To"] == "<sman1@sekolah.test>"
    assert "NUPTK sudah terbit minggu ini." in mail.get_body(("plain",)).get_content()


def test_a_reply_carries_its_file_which_only_offices_that_see_the_ticket_can_download(app, database, world):
    import io
    import json

    app.config["WTF_CSRF_ENABLED"] = False
    city, sibling = app.test_client(), app.test_client()
    log_in(city, world.emails["c3171"])
    log_in(sibling, world.emails["c3172"])
    ref = world.refs["sman1"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    city.post(f"/staff/tickets/{ref}/reply", content_type="multipart/form-data",
              data={"text": "Formulir terlampir.", "files": (io.BytesIO(pdf), "formulir.pdf")})
    with database.session() as s:
        mail = s.scalar(select(Outbox).where(Outbox.template == "staff_reply"))
        [attachment_id] = json.loads(mail.context)["attachments"]
    url = f"/staff/tickets/{ref}/attachments/{attachment_id}"
    download = city.get(url)
    assert download.status_code == 200 and download.data == pdf
    assert "attachment" in download.headers["Content-Disposition"]
    assert sibling.get(url).status_code == 404
    assert city.get(f"/staff/tickets/{world.refs['sman8']}/attachments/{attachment_id}").status_code == 404
