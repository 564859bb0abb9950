"""The staff ticket page: what its forms offer, and the thread loaded with it."""
from __future__ import annotations

import quopri
import re
from urllib.parse import urlsplit

from sqlalchemy import select

from core.models import CannedResponse, Event, Outbox, Ticket
from core.tickets.intake import link_of
from mailout.render import render
from tests.factories import PASSWORD
from tests.portal.staff_world import log_in


def test_the_forms_offer_canned_responses_and_the_office_staff(client, database, world):
    with database.begin() as s:
        s.add(CannedResponse(title="NUPTK sedang diproses", body="Permohonan {{ ticket.ref }} sedang kami proses."))
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{world.refs['sman1']}?lang=en").text
    assert "NUPTK sedang diproses" in page
    assert "agent C3171" in page and "agent C3172" not in page  # colleagues only, not a sibling city's


def test_the_page_shows_the_school_and_the_office_to_forward_to(client, world):
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{world.refs['sman1']}?lang=en").text
    assert "sman1@sekolah.test" in page and "Forward to" in page


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def old_link_and_ticket(database, ref: str) -> tuple[str, int]:
    with database.session() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
        return urlsplit(link_of(database.settings, ticket)).path, ticket.id


def test_staff_replace_the_private_link_and_the_customer_gets_the_new_one_by_mail(database, world, app):
    client = app.test_client()  # CSRF on, as in production
    ref = world.refs["sman1"]
    old, ticket_id = old_link_and_ticket(database, ref)
    assert client.get(old).status_code == 200
    client.post("/login", data={"email": world.emails["c3171"], "password": PASSWORD,
                                "csrf_token": csrf_of(client.get("/login").text)})
    page = client.get(f"/staff/tickets/{ref}?lang=en").text
    assert 'id="reissue-link"' in page
    assert client.post(f"/staff/tickets/{ref}/private-link").status_code == 400  # no CSRF token: nothing changes
    assert client.get(old).status_code == 200
    done = client.post(f"/staff/tickets/{ref}/private-link?lang=en", data={"csrf_token": csrf_of(page)},
                       follow_redirects=True)
    assert "the new one is on its way by mail" in done.text and "Private link replaced" in done.text
    assert client.get(old).status_code == 404
    with database.session() as s:
        row = s.scalar(select(Outbox).where(Outbox.template == "link_reissued"))
        assert row.to_address == "sman1@sekolah.test" and not row.automatic
        mail = render(s, database.settings, row).as_bytes().decode()
        event = s.scalar(select(Event).where(Event.ticket_id == ticket_id, Event.kind == "link_reissued"))
        assert event.actor == world.emails["c3171"]
    new = re.search(r"http://helpdesk\.test(/t/[\w-]+)", quopri.decodestring(mail).decode()).group(1)
    assert new != old and client.get(new).status_code == 200


def test_only_staff_who_act_on_the_ticket_may_replace_its_link(client, database, world):
    ref = world.refs["sman1"]  # held by C3171
    old, _ = old_link_and_ticket(database, ref)
    log_in(client, world.emails["p31"])  # reads it from above
    assert 'id="reissue-link"' not in client.get(f"/staff/tickets/{ref}").text
    assert client.post(f"/staff/tickets/{ref}/private-link").status_code == 403
    log_in(client, world.emails["c3172"])  # a sibling city
    assert client.post(f"/staff/tickets/{ref}/private-link").status_code == 404
    assert client.get(old).status_code == 200


def test_a_refused_change_of_status_names_both_statuses_in_indonesian(client, world):
    log_in(client, world.emails["c3171"])
    ref = world.refs["sman1"]
    assert client.post(f"/staff/tickets/{ref}/status", data={"status": "closed"}).status_code == 302
    page = client.post(f"/staff/tickets/{ref}/status?lang=id", data={"status": "on_hold"},
                       follow_redirects=True).text
    assert "status tidak dapat berubah dari Ditutup menjadi Ditunda" in page
    assert "Terbuka → Ditutup" in page  # the history's statuses, by the same labels as the badges
    english = client.get(f"/staff/tickets/{ref}?lang=en").text
    assert "Open → Closed" in english


def test_the_history_names_the_customer_and_the_system_in_indonesian(client, world):
    log_in(client, world.emails["c3171"])
    ref = world.refs["sman1"]
    history = client.get(f"/staff/tickets/{ref}?lang=id").text.split('class="history"')[1]
    assert "Pelanggan: Dibuat" in history
    assert " customer:" not in history and " system:" not in history
    assert "Customer: Created" in client.get(f"/staff/tickets/{ref}?lang=en").text
