"""Unknown senders: staff confirm an address as a school's contact, the ticket
re-homes to the school's City, and the address's next mail routes there."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.config.policy import Policy
from core.directory import contacts
from core.models import Contact, Event, Office, Role
from core.tickets.intake import customer_office, find_home
from core.tickets.routing import RouteRefused, confirm_sender
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import load_directory, make_user

POLICY = Policy(triage_office="P33")
TEACHER = "Guru.Budi@Gmail.test"


@pytest.fixture
def chain(session, settings):
    offices = load_chain(session)
    staff = {code: make_user(session, offices[code], Role.agent) for code in ("P33", "C3172", "C3171")}
    return offices, staff


def test_confirming_the_sender_makes_a_contact_and_moves_the_ticket_to_the_schools_city(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings, TEACHER, policy=POLICY)
    assert (ticket.office.code, ticket.school) == ("P33", None)
    confirm_sender(session, settings, POLICY, ticket, staff["P33"], offices["S003"], now=T0)
    assert (ticket.office.code, ticket.school.code, ticket.assignee) == ("C3172", "S003", staff["C3172"])
    contact = session.scalars(select(Contact)).one()
    assert (contact.email, contact.school.code, contact.created_by) == ("guru.budi@gmail.test", "S003",
                                                                        staff["P33"].email)
    kinds = {(e.kind, e.from_value, e.to_value) for e in session.scalars(select(Event).where(
        Event.kind.in_(["school", "rehome", "contact_confirmed"])))}
    assert kinds == {("school", None, "S003"), ("rehome", "P33", "C3172"),
                     ("contact_confirmed", "guru.budi@gmail.test", "S003")}
    assert customer_office(session, TEACHER, POLICY).code == "S003"


def test_a_contact_routes_its_next_mail_to_the_city_until_it_is_removed(database):
    with database.begin() as session:
        offices = load_directory(session)
        contacts.confirm(session, TEACHER, offices["S003"], "admin@kemdik.test")
    home = find_home(database, TEACHER, Policy())
    assert (home.school_id, home.office_code) == (offices["S003"].id, "C3172")
    with database.begin() as session:
        contacts.remove(session, session.scalars(select(Contact)).one(), "admin@kemdik.test")
        assert session.scalars(select(Event.kind).where(Event.kind == "contact_removed")).one()
    home = find_home(database, TEACHER, Policy())
    assert (home.school_id, home.office_code) == (None, "MIN")


def test_a_registered_address_wins_over_a_contact_given_to_an_office_since(database):
    with database.begin() as session:
        offices = load_directory(session)
        contacts.confirm(session, TEACHER, offices["S003"], "admin@kemdik.test")
        session.get(Office, offices["S001"].id).email = TEACHER.lower()
    home = find_home(database, TEACHER, Policy())
    assert home.office_code == "C3171"


@pytest.mark.parametrize("address, refusal", [
    ("sman1@sekolah.test", "registered address of SMA Negeri 1 Jakarta"),
    ("not an address", "not an email address"),
])
def test_an_address_the_directory_routes_already_is_no_contact(session, chain, address, refusal):
    offices, _ = chain
    with pytest.raises(contacts.ContactRefused, match=refusal):
        contacts.confirm(session, address, offices["S003"], "admin@kemdik.test")


def test_an_address_belongs_to_one_school(session, settings, chain):
    offices, staff = chain
    contacts.confirm(session, TEACHER, offices["S005"], "admin@kemdik.test")
    ticket = open_from(session, settings, "guru.budi@gmail.test", policy=POLICY)
    assert ticket.office.code == "C3374"  # routed as the contact's school's mail already
    other = open_from(session, settings, "ortu.siswa@gmail.test", policy=POLICY)
    with pytest.raises(RouteRefused, match="no school"):
        confirm_sender(session, settings, POLICY, other, staff["P33"], offices["C3172"])  # a city is no school
    contacts.confirm(session, "ortu.siswa@gmail.test", offices["S006"], "admin@kemdik.test")
    with pytest.raises(contacts.ContactRefused, match="already a contact of SMA Negeri 1 Surakarta"):
        contacts.confirm(session, "ortu.siswa@gmail.test", offices["S003"], "admin@kemdik.test")


def test_only_the_holding_office_confirms(session, settings, chain):
    offices, staff = chain
    ticket = open_from(session, settings, TEACHER, policy=POLICY)
    with pytest.raises(RouteRefused, match="holding"):
        confirm_sender(session, settings, POLICY, ticket, staff["C3171"], offices["S001"])
    assert session.scalars(select(Contact)).all() == []
