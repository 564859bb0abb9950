from sqlalchemy import select

from core.access.visibility import can_act, can_read, visible_tickets
from core.models import Role, Ticket
from tests.core.tiers import load_chain, open_from
from tests.factories import make_user


def visible_refs(session, user) -> set[str]:
    return set(session.scalars(select(Ticket.ref).where(visible_tickets(user))))


def world(session, settings):
    offices = load_chain(session)
    tickets = {sender: open_from(session, settings, sender) for sender in (
        "sman1@sekolah.test", "smkn26@sekolah.test", "sman3bdg@sekolah.test", "sman1smg@sekolah.test")}
    staff = {code: make_user(session, offices[code], Role.agent) for code in
             ("C3171", "C3172", "R31A", "P31", "P32", "P33", "C3374")}
    staff["MIN"] = make_user(session, offices["MIN"], Role.admin)
    return offices, tickets, staff


def test_a_city_sees_and_acts_on_only_what_it_holds(session, settings):
    _, tickets, staff = world(session, settings)
    jaksel = tickets["sman1@sekolah.test"]
    assert visible_refs(session, staff["C3171"]) == {jaksel.ref}
    assert can_act(staff["C3171"], jaksel) and can_read(staff["C3171"], jaksel)


def test_a_sibling_city_sees_nothing_of_its_neighbour(session, settings):
    _, tickets, staff = world(session, settings)
    jaksel = tickets["sman1@sekolah.test"]
    assert jaksel.ref not in visible_refs(session, staff["C3172"])
    assert not can_read(staff["C3172"], jaksel) and not can_act(staff["C3172"], jaksel)


def test_an_imported_region_reads_its_cities_but_not_the_city_outside_it(session, settings):
    _, tickets, staff = world(session, settings)
    assert visible_refs(session, staff["R31A"]) == {tickets["sman1@sekolah.test"].ref}
    assert not can_act(staff["R31A"], tickets["sman1@sekolah.test"])


def test_a_province_reads_every_ticket_below_it_through_the_region(session, settings):
    _, tickets, staff = world(session, settings)
    assert visible_refs(session, staff["P31"]) == {
        tickets["sman1@sekolah.test"].ref, tickets["smkn26@sekolah.test"].ref}
    assert visible_refs(session, staff["P32"]) == {tickets["sman3bdg@sekolah.test"].ref}
    assert visible_refs(session, staff["P33"]) == {tickets["sman1smg@sekolah.test"].ref}
    assert not any(can_act(staff["P31"], t) for t in tickets.values())


def test_the_root_admin_reads_everything(session, settings):
    _, tickets, staff = world(session, settings)
    assert visible_refs(session, staff["MIN"]) >= {t.ref for t in tickets.values()}
    assert all(can_read(staff["MIN"], t) for t in tickets.values())


def test_a_deactivated_user_sees_nothing(session, settings):
    _, tickets, staff = world(session, settings)
    staff["P31"].active = False
    assert visible_refs(session, staff["P31"]) == set()
    assert not can_read(staff["P31"], tickets["sman1@sekolah.test"])


def test_a_code_with_like_wildcards_does_not_widen_the_prefix(session, settings):
    offices, tickets, staff = world(session, settings)
    from tests.factories import load_directory
    load_directory(session, "code,name,kind,parent_code,email\nP3_,Wildcard,province,MIN,\n")
    wild = make_user(session, session.scalar(select(type(offices["MIN"])).where(
        type(offices["MIN"]).code == "P3_")), Role.agent)
    assert visible_refs(session, wild) == set()
