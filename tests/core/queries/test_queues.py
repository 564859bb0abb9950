"""Queues: summary rows, counts kept for a few seconds, and a scope that a stale
memory can narrow but never widen."""
import pytest

from core.config.policy import Policy
from core.models import Priority, Role
from core.queries.queues import count_queues, filter_choices, list_queue, scope_of
from core.storage.recent import RecentAnswers
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import load_directory, make_user


@pytest.fixture
def world(session, settings):
    offices = load_directory(session)
    policy = Policy()
    users = {code: make_user(session, offices[code], Role.agent, available=False) for code in ("C3171", "C3172", "P31")}

    def new_ticket(sender: str, subject: str):
        ticket = open_ticket(session, settings, policy, Incoming(
            from_address=sender, subject=subject, text="Mohon bantuan.", message_id=f"<{subject}@x>"),
            school=customer_office(session, sender, policy))
        session.flush()
        return ticket
    return offices, users, policy, new_ticket


def test_counts_from_recent_answers_stay_until_forgotten(session, world):
    _, users, policy, new_ticket = world
    recent = RecentAnswers(60)
    new_ticket("sman1@sekolah.test", "NUPTK belum terbit")
    assert count_queues(session, users["C3171"], policy, recent=recent)["unassigned"] == 1
    new_ticket("sman1@sekolah.test", "Akun terkunci")
    assert count_queues(session, users["C3171"], policy, recent=recent)["unassigned"] == 1
    assert count_queues(session, users["C3171"], policy)["unassigned"] == 2
    recent.forget()
    assert count_queues(session, users["C3171"], policy, recent=recent)["unassigned"] == 2


def test_the_list_itself_is_always_fresh(session, world):
    _, users, policy, new_ticket = world
    recent = RecentAnswers(60)
    first = new_ticket("sman1@sekolah.test", "NUPTK belum terbit")
    scope = scope_of(session, users["C3171"], policy, recent=recent)
    count_queues(session, users["C3171"], policy, scope=scope, recent=recent)
    second = new_ticket("sman1@sekolah.test", "Akun terkunci")
    page = list_queue(session, users["C3171"], "unassigned", policy,
                      scope=scope_of(session, users["C3171"], policy, recent=recent))
    assert {t.ref for t in page.tickets} == {first.ref, second.ref}


def test_a_stale_list_of_offices_cannot_widen_the_scope(session, world):
    offices, users, policy, new_ticket = world
    sibling = new_ticket("smkn26@sekolah.test", "Tunjangan belum cair")
    assert sibling.office_id == offices["C3172"].id
    recent = RecentAnswers(60)
    user = users["C3171"]
    # As if the directory had moved C3172 under C3171 a moment ago, or the memory were wrong.
    recent.get(("offices below", user.office.path, policy.customer_kind),
               lambda: [offices["C3171"].id, offices["C3172"].id])
    scope = scope_of(session, user, policy, recent=recent)
    assert list_queue(session, user, "below", policy, scope=scope).tickets == []
    assert count_queues(session, user, policy, scope=scope)["below"] == 0


def test_queue_rows_carry_what_the_list_shows_and_sort_by_priority(session, world):
    offices, users, policy, new_ticket = world
    low, high = Priority(name="Rendah", level=1), Priority(name="Tinggi", level=9)
    session.add_all([low, high])
    calm, urgent = new_ticket("sman1@sekolah.test", "Akun terkunci"), new_ticket("sman1@sekolah.test", "Server mati")
    calm.priority, urgent.priority, urgent.assignee = low, high, users["C3171"]
    session.flush()
    page = list_queue(session, users["C3171"], "open", policy, sort="priority")
    assert [t.ref for t in page.tickets] == [urgent.ref, calm.ref]
    row = page.tickets[0]
    assert (row.school_name, row.office_code, row.assignee_name, row.priority_name) == (
        urgent.school.name, "C3171", users["C3171"].name, "Tinggi")


def test_filter_choices_are_plain_pairs_that_outlive_the_session(session, world):
    _, users, _, _ = world
    choices = filter_choices(session, users["C3171"], recent=RecentAnswers(60))
    assert [c.name for c in choices["assignees"]] == [users["C3171"].name]
    session.expunge_all()
    assert choices["assignees"][0].id == users["C3171"].id
