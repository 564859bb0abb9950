"""The API's ticket list: pages by cursor over several offices give every
visible ticket once, in the queues' order, whatever the filters (PostgreSQL
reads them office by office; SQLite in one scan)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from core.config.policy import Policy
from core.models import Handoff, Role, Status, Ticket
from core.queries.listing import Listing, list_tickets
from core.queries.queues import LATERAL_MOST, Filters, newest_keys, offices_below
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    policy = Policy()
    users = {code: make_user(session, offices[code], Role.agent, available=False) for code in ("P31", "C3172")}
    tickets = []
    senders = ["sman1@sekolah.test", "smkn26@sekolah.test", "sman3bdg@sekolah.test", "sman8@sekolah.test"]
    for n in range(12):
        sender = senders[n % len(senders)]
        tickets.append(open_ticket(session, settings, policy, Incoming(
            from_address=sender, subject=f"NUPTK {n}", text="Mohon bantuan."),
            school=customer_office(session, sender, policy)))
    session.flush()
    # Pairs of tickets in different cities share a time: the order falls back on the id.
    for n, ticket in enumerate(tickets):
        session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
            updated_at=T0 - timedelta(minutes=n // 2), status=Status.answered if n % 3 else Status.open))
    # A Bandung ticket the Province handed on (as a forward would leave it): in its sight too.
    bandung = next(t for t in tickets if t.office_id == offices["C3273"].id)
    session.add(Handoff(ticket_id=bandung.id, office_id=offices["P31"].id))
    session.flush()
    session.expire_all()
    return users, policy, tickets, bandung


def _all_pages(session, user, policy, listing: Listing, limit: int) -> list[str]:
    seen, after = [], None
    while True:
        rows, after = list_tickets(session, user, policy, listing, limit=limit, after=after)
        seen += [row.ref for row in rows]
        if after is None:
            return seen


def _expected(session, user, tickets, keep=lambda t: True) -> list[str]:
    from core.access.visibility import can_read
    shown = [t for t in tickets if can_read(user, session.get(Ticket, t.id)) and keep(t)]
    return [t.ref for t in sorted(shown, key=lambda t: (t.updated_at, t.id), reverse=True)]


@pytest.mark.parametrize("limit", [1, 2, 5, 50])
def test_pages_over_several_offices_give_each_visible_ticket_once_newest_first(session, world, limit):
    users, policy, tickets, bandung = world
    expected = _expected(session, users["P31"], tickets)
    assert bandung.ref in expected and len(expected) == 10  # its two cities' nine, and the one handed on
    assert _all_pages(session, users["P31"], policy, Listing(), limit) == expected


def test_a_filter_applies_on_every_page_and_a_city_sees_only_its_own(session, world):
    users, policy, tickets, _ = world
    open_only = Listing(filters=Filters(status=Status.open))
    assert _all_pages(session, users["P31"], policy, open_only, 2) == _expected(
        session, users["P31"], tickets, lambda t: t.status is Status.open)
    assert _all_pages(session, users["C3172"], policy, Listing(), 2) == _expected(session, users["C3172"], tickets)


def test_a_ticket_handed_on_and_come_back_is_listed_once(session, world):
    users, policy, tickets, bandung = world
    # Dispatched back down into the Province's own city: held there and handed on, both.
    session.execute(update(Ticket).where(Ticket.id == bandung.id).values(office_id=users["C3172"].office_id))
    session.expire_all()
    refs = _all_pages(session, users["P31"], policy, Listing(), 3)
    assert refs.count(bandung.ref) == 1 and sorted(refs) == sorted(_expected(session, users["P31"], tickets))


def test_both_ways_of_reading_the_newest_keys_agree(session, world):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("newest_keys is PostgreSQL's (SQLite lists in one scan)")
    users, policy, tickets, bandung = world
    user = users["P31"]
    offices = offices_below(session, user, policy)
    ids = {t.ref: t.id for t in tickets}
    expected = [ids[ref] for ref in _expected(session, user, tickets)]
    per_office = list(session.scalars(newest_keys(user, offices, [], LATERAL_MOST)))
    merged = list(session.scalars(newest_keys(user, offices, [], LATERAL_MOST + 1)))
    assert per_office == merged == expected and bandung.id in merged
