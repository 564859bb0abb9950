"""The staff ticket page: what its forms offer, and the thread loaded with it."""
from __future__ import annotations

from core.models import CannedResponse
from tests.portal.staff_world import log_in


def test_the_forms_offer_canned_responses_and_the_office_staff(client, database, world):
    with database.begin() as s:
        s.add(CannedResponse(title="NUPTK sedang diproses", body="Permohonan {ref} sedang kami proses."))
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{world.refs['sman1']}?lang=en").text
    assert "NUPTK sedang diproses" in page
    assert "agent C3171" in page and "agent C3172" not in page  # colleagues only, not a sibling city's


def test_the_page_shows_the_school_and_the_office_to_forward_to(client, world):
    log_in(client, world.emails["c3171"])
    page = client.get(f"/staff/tickets/{world.refs['sman1']}?lang=en").text
    assert "sman1@sekolah.test" in page and "Forward to" in page
