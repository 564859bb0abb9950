"""Where a new ticket starts: find_home, read as plain rows before the mail
pipeline's write transaction, must say what home_of says from the loaded
offices, for every kind of sender."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from core.config.policy import Policy, load_policy
from core.demo import seed_defaults
from core.models import Office
from core.tickets.intake import customer_office, find_home, home_of
from tests.factories import load_directory


@pytest.fixture
def directory(database):
    with database.begin() as session:
        load_directory(session)
        seed_defaults(session)
    return database


def homes(database, address: str, policy: Policy):
    """(find_home's, home_of's) for a mail from this address."""
    with database.read() as session:
        from_objects = home_of(session, policy, customer_office(session, address, policy))
        return find_home(database, address, policy), from_objects


def test_a_school_starts_at_its_city_with_its_language_and_the_default_priority(directory):
    with directory.begin() as session:
        session.execute(update(Office).where(Office.code == "S001").values(language="en"))
        policy = load_policy(session)
    found, expected = homes(directory, "SMAN1@Sekolah.test", policy)
    assert found[:5] == expected[:5]
    assert (found.office_code, found.language) == ("C3171", "en")
    assert found.terms.first_response_hours == expected.terms.first_response_hours
    assert found.terms.resolution_hours == expected.terms.resolution_hours


def test_an_unknown_sender_starts_at_the_triage_office_else_the_root(directory):
    policy = Policy()
    found, expected = homes(directory, "stranger@example.test", policy)
    assert found[:5] == expected[:5] and (found.school_id, found.office_code) == (None, "MIN")
    triage = Policy(triage_office="P32")
    found, expected = homes(directory, "stranger@example.test", triage)
    assert found[:5] == expected[:5] and found.office_code == "P32"


def test_an_inactive_school_is_an_unknown_sender(directory):
    with directory.begin() as session:
        session.execute(update(Office).where(Office.code == "S002").values(active=False))
    found, expected = homes(directory, "sman8@sekolah.test", Policy())
    assert found[:5] == expected[:5] and (found.school_id, found.office_code) == (None, "MIN")


def test_a_school_without_a_parent_starts_at_triage_and_stays_its_school(directory):
    with directory.begin() as session:
        session.execute(update(Office).where(Office.code == "S003").values(parent_id=None))
    found, expected = homes(directory, "smkn26@sekolah.test", Policy(triage_office="P31"))
    assert found[:5] == expected[:5] and found.office_code == "P31" and found.school_id is not None


def test_without_a_directory_there_is_no_home(database):
    assert find_home(database, "sman1@sekolah.test", Policy()) is None
