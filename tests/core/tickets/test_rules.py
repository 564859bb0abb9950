"""Admins' triage rules set a new ticket's category and priority, on Indonesian text."""
import pytest
from sqlalchemy import select

from core.config.policy import load_policy
from core.models import Category, Event, Priority, Role
from core.tickets import rules
from core.tickets.intake import Incoming, customer_office, open_ticket
from core.tickets.rules import RuleRefused
from tests.core.tiers import T0, load_chain
from tests.factories import make_user


@pytest.fixture
def world(session):
    offices = load_chain(session)
    keuangan = Category(name="Keuangan")
    dapodik = Category(name="Dapodik")
    session.add_all([keuangan, dapodik])
    normal = Priority(name="normal", level=2, first_response_hours=24, resolution_hours=120, is_default=True)
    high = Priority(name="tinggi", level=3, first_response_hours=8, resolution_hours=48)
    session.add_all([normal, high])
    session.flush()
    admin = make_user(session, offices["MIN"], Role.admin)
    return offices, keuangan, dapodik, normal, high, admin


def open_mail(session, settings, subject, text="", sender="sman1@sekolah.test", **kw):
    policy = load_policy(session)
    school = customer_office(session, sender, policy)
    return open_ticket(session, settings, policy, Incoming(from_address=sender, subject=subject, text=text),
                       school=school, now=T0, **kw)


def test_a_keyword_in_the_subject_sets_category_and_priority(session, settings, world):
    _, keuangan, _, _, high, admin = world
    rules.add_rule(session, admin, keyword="dana bos, tunjangan", set_category_id=keuangan.id,
                   set_priority_id=high.id)
    ticket = open_mail(session, settings, "Dana BOS belum cair", "Mohon dicek, sudah tiga bulan.")
    assert (ticket.category_id, ticket.priority_id) == (keuangan.id, high.id)
    assert (ticket.resolution_due_at - T0).total_seconds() == 48 * 3600  # the SLA of tinggi
    audit = session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "triaged")).one()
    assert audit.to_value == "category Keuangan, priority tinggi"


def test_a_keyword_matches_whole_words_in_the_body_in_any_case_and_spacing(session, settings, world):
    _, keuangan, _, normal, _, admin = world
    rules.add_rule(session, admin, keyword="dana bos", set_category_id=keuangan.id)
    hit = open_mail(session, settings, "Pertanyaan", "Bagaimana status DANA\n  Bos tahap 2?")
    miss = open_mail(session, settings, "Pertanyaan", "Bagaimana status dana bosnya?")
    assert hit.category_id == keuangan.id and hit.priority_id == normal.id
    assert miss.category_id is None


def test_a_rule_for_a_school_only_matches_that_schools_mail(session, settings, world):
    _, _, dapodik, _, high, admin = world
    rules.add_rule(session, admin, school_code="s001", set_priority_id=high.id)
    assert open_mail(session, settings, "Data guru").priority_id == high.id
    assert open_mail(session, settings, "Data guru", sender="sman8@sekolah.test").priority_id != high.id


def test_every_condition_of_a_rule_must_hold_and_the_first_rule_wins(session, settings, world):
    _, keuangan, dapodik, _, high, admin = world
    urgent = Priority(name="mendesak", level=4, first_response_hours=2, resolution_hours=24)
    session.add(urgent)
    session.flush()
    rules.add_rule(session, admin, keyword="sinkron", category_id=dapodik.id, set_priority_id=urgent.id)
    rules.add_rule(session, admin, keyword="sinkron", set_category_id=keuangan.id, set_priority_id=high.id)
    chosen = open_mail(session, settings, "Gagal sinkron", category=dapodik)
    plain = open_mail(session, settings, "Gagal sinkron")
    assert (chosen.category_id, chosen.priority_id) == (dapodik.id, urgent.id)  # the customer's category kept
    assert (plain.category_id, plain.priority_id) == (keuangan.id, high.id)


def test_a_priority_given_by_the_caller_is_kept(session, settings, world):
    _, keuangan, _, normal, high, admin = world
    rules.add_rule(session, admin, keyword="bos", set_category_id=keuangan.id, set_priority_id=high.id)
    ticket = open_mail(session, settings, "Dana BOS", priority=normal)
    assert (ticket.category_id, ticket.priority_id) == (keuangan.id, normal.id)


def test_a_rule_needs_a_condition_and_an_effect_and_known_values(session, world):
    _, keuangan, _, _, high, admin = world
    with pytest.raises(RuleRefused, match="condition"):
        rules.add_rule(session, admin, set_priority_id=high.id)
    with pytest.raises(RuleRefused, match="effect"):
        rules.add_rule(session, admin, keyword="bos")
    with pytest.raises(RuleRefused, match="no school with code X9"):
        rules.add_rule(session, admin, school_code="x9", set_priority_id=high.id)
    with pytest.raises(RuleRefused, match="no such priority"):
        rules.add_rule(session, admin, keyword="bos", set_priority_id=9999)


def test_rules_are_compiled_once_per_read_of_the_policy_and_again_after_a_change(session, world):
    _, keuangan, _, _, high, admin = world
    policy = load_policy(session)
    assert rules.rules_for(session, policy) == ()
    rule = rules.add_rule(session, admin, keyword="bos", set_priority_id=high.id)
    assert rules.rules_for(session, policy) == ()  # the same read of the settings: the same rules
    fresh = load_policy(session)
    assert fresh is not policy and [r.id for r in rules.rules_for(session, fresh)] == [rule.id]
    assert rules.rules_for(session, fresh) is rules.rules_for(session, fresh)
    rules.remove_rule(session, admin, rule.id)
    assert rules.rules_for(session, load_policy(session)) == ()
    kinds = session.scalars(select(Event.kind).where(Event.kind == "triage_rule")).all()
    assert len(kinds) == 2


def test_decide_reads_plain_values():
    rule = rules.Rule(1, rules.compile_keyword("belum cair"), None, None, 7, 3)
    assert rules.decide((rule,), "Dana BOS belum cair", "", None, None) == rules.Decision(7, 3)
    assert rules.decide((rule,), "Dana BOS", "Belum\n cair juga", None, None) == rules.Decision(7, 3)
    assert rules.decide((rule,), "Dana BOS sudah cair", "belumcair", None, None) == rules.Decision()
    assert rules.compile_keyword(" , ") is None
