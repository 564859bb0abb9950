from datetime import date, timedelta

import pytest

from core.models import Role, Status
from core.queries.reports import BadPeriod, as_csv_rows, office_report, period
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user

DAY = T0.date()


@pytest.fixture
def chain(session):
    return load_chain(session)


def ticket(session, settings, sender, *, days=0, hours_to_answer=None, hours_to_resolve=None, closed=False,
           breached=False, satisfied=None):
    t = open_from(session, settings, sender, now=T0 + timedelta(days=days))
    if hours_to_answer is not None:
        t.first_response_at = t.created_at + timedelta(hours=hours_to_answer)
    if hours_to_resolve is not None:
        t.resolved_at = t.created_at + timedelta(hours=hours_to_resolve)
    if closed:
        t.status = Status.closed
    if breached:
        t.sla_breached_at = t.created_at + timedelta(hours=30)
    t.satisfied = satisfied
    session.flush()
    return t


def rows(report):
    return {row.code: row.figures for row in report.offices}


def test_a_province_sees_each_office_below_it_on_its_own_row(session, settings, chain):
    ticket(session, settings, "sman1@sekolah.test", hours_to_answer=2, closed=True, hours_to_resolve=10)
    ticket(session, settings, "sman8@sekolah.test", hours_to_answer=4)
    ticket(session, settings, "smkn26@sekolah.test", breached=True)
    ticket(session, settings, "sman3bdg@sekolah.test")  # Jawa Barat: not the Jakarta province's business
    report = office_report(session, make_user(session, chain["P31"], Role.supervisor), DAY, DAY)

    by_code = rows(report)
    assert list(by_code) == ["P31", "C3172", "R31A"]
    assert by_code["P31"].created == 0
    assert (by_code["R31A"].created, by_code["R31A"].closed, by_code["R31A"].still_open) == (2, 1, 1)
    assert by_code["R31A"].hours_to_first_answer == pytest.approx(3.0)
    assert by_code["R31A"].hours_to_resolution == pytest.approx(10.0)
    assert (by_code["C3172"].created, by_code["C3172"].breached) == (1, 1)
    assert report.total.created == 3 and report.total.breach_percent == pytest.approx(100 / 3)


def test_a_city_sees_its_own_tickets_by_agent(session, settings, chain):
    agent = make_user(session, chain["C3172"], available=False)
    answered = ticket(session, settings, "smkn26@sekolah.test", satisfied=True)
    answered.assignee = agent
    ticket(session, settings, "smkn26@sekolah.test", satisfied=False)
    ticket(session, settings, "sman1@sekolah.test")  # a sibling city's
    session.flush()
    report = office_report(session, make_user(session, chain["C3172"], Role.supervisor), DAY, DAY)

    assert [(r.code, r.figures.created) for r in report.offices] == [("C3172", 2)]
    assert [(r.code or r.note, r.figures.created) for r in report.agents] == [(agent.email, 1), ("unassigned", 1)]
    assert report.total.satisfied_percent == pytest.approx(50.0)


def test_the_period_counts_both_its_days_and_nothing_outside(session, settings, chain):
    for days in (-1, 0, 2, 3):
        ticket(session, settings, "sman3bdg@sekolah.test", days=days)
    ministry = make_user(session, chain["MIN"], Role.admin)
    assert office_report(session, ministry, DAY, DAY + timedelta(days=2)).total.created == 2
    assert office_report(session, ministry, DAY - timedelta(days=1), DAY + timedelta(days=3)).total.created == 4


def test_an_empty_period_has_no_averages(session, settings, chain):
    report = office_report(session, make_user(session, chain["MIN"], Role.admin), DAY, DAY)
    assert report.total.created == 0
    assert report.total.hours_to_first_answer is None and report.total.satisfied_percent is None
    assert as_csv_rows(report)[-1][:3] == ["TOTAL", "Kementerian Pendidikan", "0"]


def test_the_default_period_is_the_last_thirty_days_and_a_bad_one_is_refused():
    assert period(None, None, date(2026, 11, 30)) == (date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(BadPeriod, match="after its end"):
        period(date(2026, 11, 2), date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(BadPeriod, match="at most 366 days"):
        period(date(2024, 1, 1), date(2026, 1, 1), date(2026, 11, 30))
