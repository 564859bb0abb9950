"""A principal Cc'd on a school's mail, through the real SMTP server, the real
portal and a real relay: copied on the staff reply, their replies land on the
same ticket, and staff add and remove participants."""
from __future__ import annotations

import email
import email.message
import re
from email.policy import default

import pytest
from sqlalchemy import select

from core.access.tokens import hash_token
from core.models import Event, Message, Outcome, Participant, RawMail, Status, Ticket
from mailin.smtpd import BackgroundServer
from mailout.deliver import deliver_due
from mailout.transport import RelayTransport
from tests.mailin.conftest import transcript
from tests.mailin.mails import HELPDESK, SCHOOL, mail, new_message_id
from tests.mailout.relay import Relay
from tests.portal.public_helpers import hidden
from tests.portal.staff_world import log_in

PRINCIPAL = "kepsek@sekolah.test"


@pytest.fixture
def smtp(database, world):
    server = BackgroundServer(database).start()
    yield server
    server.stop()


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


def send(smtp, raw: bytes, sender: str) -> None:
    assert transcript(smtp.port, raw, mail_from=sender, rcpt=(HELPDESK,))[-2] == 250


def delivered(database, relay, marker: bytes) -> dict[str, email.message.EmailMessage]:
    """The mails of one delivery pass whose bytes hold `marker`, by their one recipient."""
    with RelayTransport("127.0.0.1", relay.port) as channel:
        deliver_due(database, transport=channel)
    found = {}
    for message in relay.messages:
        if marker in message.data:
            [recipient] = message.recipients
            found[recipient] = email.message_from_bytes(message.data, policy=default)
    relay.messages.clear()
    return found


def link_in(message) -> str:
    """The private link's token in a mail's text."""
    return re.search(r"/t/([A-Za-z0-9_-]+)", message.get_body(("plain",)).get_content()).group(1)


def outcomes(database) -> list[tuple[Outcome, str | None]]:
    with database.session() as s:
        rows = s.execute(select(RawMail.outcome, Ticket.ref).outerjoin(Ticket, Ticket.id == RawMail.ticket_id)
                         .order_by(RawMail.id)).all()
    return [tuple(row) for row in rows]


def participants_of(database, ref: str) -> list[str]:
    with database.session() as s:
        return list(s.scalars(select(Participant.address).join(Ticket, Ticket.id == Participant.ticket_id)
                              .where(Ticket.ref == ref).order_by(Participant.id)))


def test_a_ccd_principal_is_copied_on_the_reply_and_their_replies_land_on_the_ticket(database, world, client,
                                                                                    smtp, relay):
    first_id = new_message_id()
    send(smtp, mail(subject="Dana BOS belum cair", message_id=first_id, headers={
        "Cc": f"Kepala Sekolah <{PRINCIPAL}>, MAILER-DAEMON@sekolah.test, {HELPDESK}, {SCHOOL}"}), SCHOOL)
    [(outcome, ref)] = outcomes(database)
    assert outcome is Outcome.new_ticket
    # Our own address, a loop source and the requester are left out.
    assert participants_of(database, ref) == [PRINCIPAL]

    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{ref}").get_data(as_text=True)
    assert PRINCIPAL in page and "participants" in page
    assert client.post(f"/staff/tickets/{ref}/reply", data={"text": "Dana cair pekan depan.",
                                                            "status": "answered"}).status_code == 302
    replies = delivered(database, relay, b"Dana cair")
    # A copy each: the principal's is not the school's mail with its private link.
    assert sorted(replies) == sorted([SCHOOL, PRINCIPAL])
    assert replies[SCHOOL]["To"] == SCHOOL and replies[SCHOOL]["Cc"] is None
    parsed = replies[PRINCIPAL]
    assert parsed["To"] == PRINCIPAL and link_in(parsed) != link_in(replies[SCHOOL])

    # The principal answers our reply, and (reply-all) the school's first mail:
    # neither carries the reference in the subject; both land on the ticket.
    send(smtp, mail(sender=PRINCIPAL, subject="Re: Dana BOS", body="Terima kasih.",
                    headers={"In-Reply-To": parsed["Message-ID"]}), PRINCIPAL)
    send(smtp, mail(sender=PRINCIPAL, subject="Re: Dana BOS belum cair", body="Saya ikut memantau.",
                    headers={"In-Reply-To": first_id, "References": first_id}), PRINCIPAL)
    assert outcomes(database)[1:] == [(Outcome.appended, ref), (Outcome.appended, ref)]


def test_a_participant_reads_and_answers_through_their_own_link_which_outlives_the_requesters(
        database, world, client, smtp, relay):
    send(smtp, mail(subject="Dana BOS belum cair", headers={"Cc": PRINCIPAL}), SCHOOL)
    [(_, ref)] = outcomes(database)
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{ref}/reply", data={"text": "Dana cair pekan depan.", "status": "answered"})
    replies = delivered(database, relay, b"Dana cair")
    school, principal = link_in(replies[SCHOOL]), link_in(replies[PRINCIPAL])
    with database.session() as s:  # kept as the requester's is: its digest, never the token
        row = s.scalar(select(Participant).where(Participant.address == PRINCIPAL))
        assert row.token_hash == hash_token(principal) and principal not in (row.token_nonce, row.token_hash)

    page = client.get(f"/t/{principal}").text
    assert "Dana cair pekan depan." in page
    assert f"/t/{principal}/solved" not in page and f"/t/{school}/solved" in client.get(f"/t/{school}").text
    answer = {"csrf_token": hidden(page, "csrf_token"), "body": "Terima kasih, kami tunggu."}
    assert client.post(f"/t/{principal}/reply", data=answer).status_code == 302
    assert client.post(f"/t/{principal}/solved", data={"csrf_token": answer["csrf_token"]}).status_code == 404
    with database.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
        last = s.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id.desc())).first()
        assert (last.from_address, last.text) == (PRINCIPAL, "Terima kasih, kami tunggu.")
        assert ticket.status is Status.open  # a participant's reply reopens it, as by mail

    # The school's link is replaced (it was forwarded around): the principal keeps theirs.
    assert client.post(f"/staff/tickets/{ref}/private-link").status_code == 302
    assert client.get(f"/t/{school}").status_code == 404
    assert client.get(f"/t/{principal}").status_code == 200
    # Taken off the ticket, the principal's link opens nothing.
    client.post(f"/staff/tickets/{ref}/participants/remove", data={"address": PRINCIPAL})
    assert client.get(f"/t/{principal}").status_code == 404


def test_staff_add_and_remove_participants_and_a_removed_one_is_a_stranger_again(database, world, client, smtp):
    ref = world.refs["sman1"]
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{ref}/participants", data={"address": " Pengawas@Dinas.test "})
    assert participants_of(database, ref) == ["pengawas@dinas.test"]
    refused = client.post(f"/staff/tickets/{ref}/participants", data={"address": "noreply@dinas.test"},
                          follow_redirects=True).get_data(as_text=True)
    assert "alamat no-reply" in refused  # the reason, in the page's language
    assert participants_of(database, ref) == ["pengawas@dinas.test"]
    # Another office may read nothing of it, let alone change it.
    log_in(client, world.emails["c3172"])
    assert client.post(f"/staff/tickets/{ref}/participants", data={"address": "x@dinas.test"}).status_code == 404

    send(smtp, mail(sender="pengawas@dinas.test", subject=f"Re: [{ref}] NUPTK", body="Sudah saya cek."),
         "pengawas@dinas.test")
    assert outcomes(database)[-1] == (Outcome.appended, ref)

    # Removed before writing, an address is a stranger again (one who wrote
    # on the ticket stays on it, as every earlier writer does).
    log_in(client, world.emails["c3171"])
    client.post(f"/staff/tickets/{ref}/participants", data={"address": "bendahara@dinas.test"})
    client.post(f"/staff/tickets/{ref}/participants/remove", data={"address": "bendahara@dinas.test"})
    assert participants_of(database, ref) == ["pengawas@dinas.test"]
    send(smtp, mail(sender="bendahara@dinas.test", subject=f"Re: [{ref}] NUPTK", body="Satu lagi."),
         "bendahara@dinas.test")
    outcome, other = outcomes(database)[-1]
    assert outcome is Outcome.new_ticket and other != ref
    with database.session() as s:
        kinds = list(s.scalars(select(Event.kind).join(Ticket, Ticket.id == Event.ticket_id).where(
            Ticket.ref == ref, Event.kind.like("participant%")).order_by(Event.id)))
    assert kinds == ["participant_added", "participant_added", "participant_removed"]


def test_the_participant_forms_need_a_csrf_token(database, world, app, client):
    log_in(client, world.emails["c3171"])
    app.config["WTF_CSRF_ENABLED"] = True
    ref = world.refs["sman1"]
    assert client.post(f"/staff/tickets/{ref}/participants", data={"address": "x@dinas.test"}).status_code == 400
    assert participants_of(database, ref) == []
