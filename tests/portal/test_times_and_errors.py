"""Times in the holding office's zone on the staff and public pages; error
pages in the site's layout and the visitor's language."""
from __future__ import annotations

from datetime import datetime, timezone

from freezegun import freeze_time
from sqlalchemy import update

from core.models import Office, Role, Ticket
from tests.factories import make_user
from tests.portal.public_helpers import make_ticket, seed
from tests.portal.staff_world import log_in


def set_zone(database, code: str, zone: str) -> None:
    with database.begin() as s:
        s.execute(update(Office).where(Office.code == code).values(timezone=zone))


def test_the_staff_ticket_page_shows_times_in_the_holding_offices_zone(client, database):
    seed(database)
    with freeze_time(datetime(2024, 5, 1, 1, 5, tzinfo=timezone.utc)):
        ticket_id, _token = make_ticket(database)  # held by C3171 (Jakarta Selatan)
    set_zone(database, "C3171", "Asia/Makassar")
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        ref, agent = ticket.ref, make_user(s, ticket.office, Role.agent, email="zone@staff.test").email
    log_in(client, agent)
    page = client.get(f"/staff/tickets/{ref}?lang=en").text
    assert "2024-05-01 09:05 WITA" in page
    assert "UTC" not in page
    assert "WITA" in client.get("/staff/?lang=en").text


def test_the_private_page_shows_times_in_the_holding_offices_zone(client, database):
    seed(database)
    with freeze_time(datetime(2024, 5, 1, 1, 5, tzinfo=timezone.utc)):
        _, token = make_ticket(database)
    set_zone(database, "C3171", "Asia/Jayapura")
    page = client.get(f"/t/{token}?lang=id").text
    assert "2024-05-01 10:05 WIT" in page
    assert "UTC" not in page


def test_not_found_is_in_the_visitors_language_and_the_site_layout(client, database):
    english = client.get("/no/such/page?lang=en")
    assert english.status_code == 404
    assert "Page not found" in english.text and 'class="top"' in english.text and 'lang="en"' in english.text
    indonesian = client.get("/no/such/page?lang=id")
    assert "Halaman tidak ditemukan" in indonesian.text and 'lang="id"' in indonesian.text
    assert "Content-Security-Policy" in indonesian.headers


def test_forbidden_keeps_the_staff_header_and_speaks_indonesian(client, world):
    log_in(client, world.emails["c3171"])  # an agent, not an admin
    response = client.get("/admin/?lang=id")
    assert response.status_code == 403
    assert "Tidak diizinkan" in response.text and "Galat 403" in response.text
    assert 'class="staffnav"' in response.text  # the staff layout, with its navigation
    english = client.get("/admin/?lang=en")
    assert english.status_code == 403 and 'lang="en"' in english.text
    assert "Not allowed" in english.text and "Error 403" in english.text and 'class="staffnav"' in english.text


def test_a_read_only_action_is_refused_with_the_403_page(client, world):
    log_in(client, world.emails["p31"])  # reads the city's tickets, does not hold them
    response = client.post(f"/staff/tickets/{world.refs['sman1']}/take?lang=en")
    assert response.status_code == 403
    assert "Not allowed" in response.text


def test_a_server_error_shows_the_plain_layout_in_the_visitors_language(app, database):
    @app.get("/boom")
    def boom():
        raise RuntimeError("the database went away")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom?lang=id")
    assert response.status_code == 500
    assert "Terjadi kesalahan" in response.text and 'class="top"' in response.text
    assert "staffnav" not in response.text and "RuntimeError" not in response.text
    english = app.test_client().get("/boom?lang=en")
    assert english.status_code == 500 and 'lang="en"' in english.text and 'class="top"' in english.text
    assert "Something went wrong on our side" in english.text and "Error 500" in english.text
