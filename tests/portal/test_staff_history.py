"""The staff ticket page's customer history (scoped by visibility, newest
first) and thumbnails of attached pictures."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import Policy
from core.models import Attachment, Direction, Message, Office, Ticket
from core.storage.files import Store
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.portal.public_helpers import png
from tests.portal.staff_world import log_in


def open_more(database, sender: str, subject: str, *, school_of: str | None = None, held_by: str | None = None,
              day: int = 2) -> str:
    with freeze_time(datetime(2024, 6, day, 3, 0, tzinfo=timezone.utc)), database.begin() as s:
        school = customer_office(s, school_of or sender, Policy())
        ticket = open_ticket(s, database.settings, Policy(), Incoming(
            from_address=sender, subject=subject, text="..."), school=school)
        if held_by:
            ticket.office = s.scalar(select(Office).where(Office.code == held_by))
        return ticket.ref


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    return match.group(1) if match else ""


def test_the_page_lists_the_schools_and_the_requesters_other_tickets_newest_first(client, database, world):
    older = open_more(database, "sman1@sekolah.test", "Rapor digital", day=2)
    newer = open_more(database, "sman1@sekolah.test", "Akun PTK terkunci", day=5)
    teacher = open_more(database, "guru.siti@mail.test", "Dari guru, atas nama sekolah", school_of="sman1@sekolah.test",
                        day=3)
    up_the_chain = open_more(database, "sman1@sekolah.test", "Sudah di provinsi", held_by="P31", day=4)
    other_school = open_more(database, "sman8@sekolah.test", "Sekolah lain", day=6)
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{teacher}?lang=en").text
    school = section(page, "history-school")
    refs = list(dict.fromkeys(re.findall(r"HD-[0-9A-Z]{6}", school)))
    assert refs == [world.refs["sman1"], newer, older]  # the world's ticket was opened today
    assert teacher not in school            # not the ticket itself
    assert up_the_chain not in school       # held above the city: the city may not read it
    assert other_school not in school
    assert "2024-06-05 10:00 WIB" in school  # in the holding office's zone
    province = client.post("/logout") and log_in(client, world.emails["p31"])
    assert province.status_code == 302
    assert up_the_chain in section(client.get(f"/staff/tickets/{teacher}").text, "history-school")


def test_the_requesters_tickets_of_no_school_are_listed_apart(client, database, world):
    with database.begin() as s:
        school = s.scalar(select(Office).where(Office.code == "S001"))
        first = open_ticket(s, database.settings, Policy(), Incoming(
            from_address="guru.budi@mail.test", subject="Untuk SMAN 1", text="..."), school=school).ref
        loose = open_ticket(s, database.settings, Policy(), Incoming(
            from_address="guru.budi@mail.test", subject="Pertanyaan pribadi", text="..."), school=None)
        loose.office = school.parent  # as if confirmed down to the city
        loose = loose.ref
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{first}?lang=en").text
    assert loose in section(page, "history-requester")
    assert loose not in section(page, "history-school")


def test_staff_see_attached_pictures_as_thumbnails_and_siblings_get_404(client, database, world):
    store = Store(database.settings.path("store"))
    with database.begin() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == world.refs["sman1"]))
        message = Message(ticket=ticket, direction=Direction.inbound, from_address="sman1@sekolah.test",
                          text="Foto layar terlampir.", attachments=[
                              Attachment(filename="layar.png", content_type="image/png", size=10,
                                         sha256=store.put(png(1600, 1200))),
                              Attachment(filename="data.csv", content_type="text/csv", size=4,
                                         sha256=store.put(b"a,b\n"))])
        s.add(message)
        s.flush()
        picture, sheet = (a.id for a in message.attachments)
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{world.refs['sman1']}").text
    thumb = f"/staff/tickets/{world.refs['sman1']}/attachments/{picture}/thumb"
    assert f'src="{thumb}"' in page
    assert f"/attachments/{sheet}/thumb" not in page
    response = client.get(thumb)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data[:3] == b"\xff\xd8\xff" and len(response.data) < 20_000
    assert client.get(f"/staff/tickets/{world.refs['sman1']}/attachments/{sheet}/thumb").status_code == 404
    client.post("/logout")
    log_in(client, world.emails["c3172"])
    assert client.get(thumb).status_code == 404
