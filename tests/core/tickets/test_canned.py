"""Canned responses: offered by office and ancestors, filled in the sandbox,
written by supervisors and admins of the office."""
from __future__ import annotations

import pytest

from core.config.policy import Policy
from core.models import CannedResponse, Role
from core.tickets.canned import (CannedRefused, UnknownCanned, check, fill, list_canned, list_managed, render,
                                 save_office_canned)
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user


@pytest.fixture
def office_world(session, settings):
    offices = load_directory(session)
    school = customer_office(session, "sman1@sekolah.test", Policy())
    ticket = open_ticket(session, settings, Policy(), Incoming(
        from_address="sman1@sekolah.test", from_name="Ibu Siti", subject="NUPTK", text="Belum terbit."),
        school=school)
    people = {name: make_user(session, offices[code], role, email=f"{name}@staff.test")
              for name, code, role in [("agent", "C3171", Role.agent), ("sup", "C3171", Role.supervisor),
                                       ("sibling_sup", "C3172", Role.supervisor), ("p31admin", "P31", Role.admin)]}
    return offices, ticket, people


def test_an_office_is_offered_its_own_its_ancestors_and_everyones_answers(session, office_world):
    offices, _ticket, people = office_world
    for title, office in [("mine", "C3171"), ("province", "P31"), ("ministry", "MIN"), ("sibling", "C3172"),
                          ("other province", "P32")]:
        session.add(CannedResponse(title=title, body="x", office_id=offices[office].id))
    session.add(CannedResponse(title="everyone", body="x"))
    session.flush()
    assert [c.title for c in list_canned(session, people["agent"])] == [
        "everyone", "mine", "ministry", "province"]


def test_placeholders_are_filled_for_the_ticket_above_what_was_typed(session, office_world):
    offices, ticket, people = office_world
    answer = CannedResponse(title="t", office_id=offices["P31"].id, body=(
        "Yth. {{ requester.name }} ({{ school.name }}),\ntiket {{ ticket.ref }} ditangani {{ office.name }}.\n"
        "Salam, {{ agent.name }}"))
    session.add(answer)
    session.flush()
    text = fill(session, people["agent"], answer.id, "Terima kasih.", ticket)
    assert text == (f"Yth. Ibu Siti (SMA Negeri 1 Jakarta),\ntiket {ticket.ref} ditangani Dinas Pendidikan "
                    f"Jakarta Selatan.\nSalam, {people['agent'].name}\n\nTerima kasih.")


def test_a_sibling_offices_answer_is_not_usable(session, office_world):
    offices, ticket, people = office_world
    answer = CannedResponse(title="t", body="x", office_id=offices["C3172"].id)
    session.add(answer)
    session.flush()
    with pytest.raises(UnknownCanned):
        fill(session, people["agent"], answer.id, "", ticket)


@pytest.mark.parametrize("body", [
    "{{ ticket.__class__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{{ 'x' * 10**9 }}",
    "{% for x in range(10) %}{{ ticket.ref }}{% endfor %}",
])
def test_nothing_but_the_named_placeholders_is_ever_evaluated(body):
    assert render(body, {"ticket": {"ref": "HD-X"}}) == body.replace("{{ ticket.ref }}", "HD-X").strip()


def test_an_unknown_placeholder_is_refused_when_saved():
    with pytest.raises(CannedRefused) as refused:
        check("Halo {{ requester.nama }} dari {{ school.name }}")
    assert refused.value.detail == "{{ requester.nama }}"
    check("Halo {{requester.name}} dari {{ school.name }}")


def test_the_old_placeholder_forms_are_refused_with_the_current_one_as_hint():
    with pytest.raises(CannedRefused) as refused:
        check("Permohonan {ref} untuk {name}")
    assert refused.value.detail == "{ref} ({{ ticket.ref }}), {name} ({{ requester.name }})"


def test_a_supervisor_writes_answers_of_their_own_office_only(session, office_world):
    offices, _ticket, people = office_world
    saved = save_office_canned(session, people["sup"], "Dapodik", "Silakan sinkron ulang, {{ requester.name }}.")
    assert saved.office_id == offices["C3171"].id
    with pytest.raises(CannedRefused):
        save_office_canned(session, people["sup"], "x", "y", office_code="C3172")
    with pytest.raises(UnknownCanned):  # the sibling's supervisor cannot edit it
        save_office_canned(session, people["sibling_sup"], "mine now", "y", canned_id=saved.id)
    with pytest.raises(CannedRefused):
        save_office_canned(session, people["agent"], "x", "y")
    with pytest.raises(CannedRefused):
        save_office_canned(session, people["sup"], "unknown", "{{ ticket.owner }}")


def test_an_admin_writes_for_offices_below_but_not_beside(session, office_world):
    offices, _ticket, people = office_world
    below = save_office_canned(session, people["p31admin"], "Kota", "x", office_code="C3172")
    assert below.office_id == offices["C3172"].id
    assert below in list_managed(session, people["p31admin"])
    with pytest.raises(CannedRefused):
        save_office_canned(session, people["p31admin"], "Bandung", "x", office_code="C3273")
