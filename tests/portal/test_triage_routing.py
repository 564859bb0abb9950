"""Triage through the real SMTP server and the real portal: a Province
dispatches a ticket down to one of its Cities and still reads it, offices
that never held it get 404, and an unknown sender confirmed as a school's
contact has its next mail routed straight to the school's City."""
from __future__ import annotations

import email
from email import policy as email_policy

import pytest
from sqlalchemy import select

from core.models import Contact, Office, Outbox, OutboxStatus, Ticket
from mailin.smtpd import BackgroundServer
from mailout.render import render
from tests.mailin.conftest import transcript
from tests.mailin.mails import mail
from tests.portal.staff_world import log_in, ticket_of

OK = [250, 250, 250, 250, 221]
TEACHER = "guru.budi@gmail.test"


@pytest.fixture
def smtp(database, world):
    server = BackgroundServer(database).start()
    yield server
    server.stop()


def signed_in(app, email: str):
    client = app.test_client()
    log_in(client, email)
    return client


def newest_ticket(database, sender: str) -> Ticket:
    with database.session() as s:
        return s.scalars(select(Ticket).where(Ticket.requester_email == sender).order_by(Ticket.id.desc())).first()


def where(database, ticket_id: int) -> tuple[str, str | None]:
    """(holding office code, school code) of a ticket."""
    with database.session() as s:
        ticket = s.get(Ticket, ticket_id)
        return ticket.office.code, ticket.school.code if ticket.school else None


def ack_text(database, ticket: Ticket) -> str:
    """The plain text of the ticket's acknowledgement, which must be going out."""
    with database.session() as s:
        row = s.scalars(select(Outbox).where(Outbox.ticket_id == ticket.id, Outbox.template == "ack")).one()
        assert row.status is OutboxStatus.pending, row.last_error
        raw = render(s, database.settings, row).as_bytes()
    return " ".join(email.message_from_bytes(raw, policy=email_policy.default).get_body(("plain",)).get_content().split())


def test_a_province_dispatches_to_its_city_and_still_reads_the_ticket(app, database, world, smtp):
    app.config["WTF_CSRF_ENABLED"] = False
    assert transcript(smtp.port, mail(subject="NUPTK guru baru")) == OK
    ref = newest_ticket(database, "sman1@sekolah.test").ref
    city, province = signed_in(app, world.emails["c3171"]), signed_in(app, world.emails["p31"])
    city.post(f"/staff/tickets/{ref}/forward", data={"note": "Perlu keputusan provinsi."})
    with database.session() as s:
        timur, bandung = (s.scalar(select(Office.id).where(Office.code == code)) for code in ("C3172", "C3273"))

    page = province.get(f"/staff/tickets/{ref}?lang=en").text
    assert 'id="dispatch-office"' in page and "C3172 · Dinas Pendidikan Jakarta Timur" in page
    assert "C3273" not in page  # another province's city is not offered
    refused = province.post(f"/staff/tickets/{ref}/dispatch?lang=en", data={"office": str(bandung), "reason": "x"})
    assert refused.status_code == 400 and 'id="dispatch-error"' in refused.text
    assert "only to offices below it" in refused.text
    no_reason = province.post(f"/staff/tickets/{ref}/dispatch?lang=en", data={"office": str(timur), "reason": " "})
    assert no_reason.status_code == 400 and "say why the ticket moves" in no_reason.text
    assert ticket_of(database, ref).office.code == "P31"

    sent = province.post(f"/staff/tickets/{ref}/dispatch", data={"office": str(timur), "reason": "Sekolah pindah."})
    assert sent.status_code == 302
    assert ticket_of(database, ref).office.code == "C3172"
    page = province.get(f"/staff/tickets/{ref}?lang=en")
    assert page.status_code == 200 and 'id="went"' in page.text and "to C3172" in page.text
    assert "Sekolah pindah." in page.text
    # The City that forwarded it up reads it too, and sees where it is now.
    page = city.get(f"/staff/tickets/{ref}?lang=en")
    assert page.status_code == 200 and "to P31" in page.text and "now held by Dinas Pendidikan Jakarta Timur" in page.text
    assert ref in city.get("/staff/?queue=sent_on").text
    assert city.post(f"/staff/tickets/{ref}/note", data={"text": "x"}).status_code == 403
    # The receiving City acts on it; an office that never held it gets 404.
    assert signed_in(app, world.emails["c3172"]).get(f"/staff/tickets/{ref}").status_code == 200
    bandung_agent = signed_in(app, world.emails["c3273"])
    assert bandung_agent.get(f"/staff/tickets/{ref}").status_code == 404
    for query in (ref, "NUPTK"):
        assert f"/staff/tickets/{ref}" not in bandung_agent.get(f"/staff/search?q={query}").text
    assert f"/staff/tickets/{ref}" in city.get("/staff/search?q=NUPTK").text  # search sees the handed-on ticket


def test_an_unknown_sender_confirmed_as_a_contact_has_its_next_mail_routed_to_the_city(app, database, world, smtp,
                                                                                      dns):
    app.config["WTF_CSRF_ENABLED"] = False
    # The teacher's provider authenticates its mail (SPF from this host), so
    # the unknown sender is acknowledged at all (no backscatter to strangers).
    dns.txt("gmail.test", "v=spf1 ip4:127.0.0.1 -all")
    assert transcript(smtp.port, mail(sender=TEACHER, subject="Tunjangan saya belum cair"), mail_from=TEACHER) == OK
    first = newest_ticket(database, TEACHER)
    assert (first.office.code, first.school_id) == ("MIN", None)  # triage: the top office by default
    assert "sedang diteruskan ke kantor" in ack_text(database, first)

    ministry = signed_in(app, world.emails["min"])
    wrong = ministry.post(f"/staff/tickets/{first.ref}/confirm-sender?lang=en", data={"school": "S999"})
    assert wrong.status_code == 400 and 'id="school-error"' in wrong.text and "no school with that code" in wrong.text
    done = ministry.post(f"/staff/tickets/{first.ref}/confirm-sender", data={"school": "S003"})
    assert done.status_code == 302
    assert where(database, first.id) == ("C3172", "S003")

    assert transcript(smtp.port, mail(sender=TEACHER, subject="Pertanyaan lain"), mail_from=TEACHER) == OK
    second = newest_ticket(database, TEACHER)
    assert second.id != first.id and where(database, second.id) == ("C3172", "S003")
    assert "sedang diteruskan" not in ack_text(database, second)

    # The school's page lists the contact; removing it sends the next mail to triage again.
    school_page = ministry.get("/admin/schools?code=S003&lang=en").text
    assert TEACHER in school_page
    with database.session() as s:
        contact_id = s.scalars(select(Contact.id)).one()
    assert signed_in(app, world.emails["c3171"]).post(f"/admin/contacts/{contact_id}/remove").status_code == 403
    assert signed_in(app, world.emails["p31admin"]).get("/admin/schools?code=S004").status_code == 404
    assert ministry.post(f"/admin/contacts/{contact_id}/remove").status_code == 302
    assert "No confirmed contacts." in ministry.get("/admin/schools?code=S003&lang=en").text
    assert transcript(smtp.port, mail(sender=TEACHER, subject="Satu lagi"), mail_from=TEACHER) == OK
    assert newest_ticket(database, TEACHER).office.code == "MIN"
