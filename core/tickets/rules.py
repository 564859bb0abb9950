"""Triage rules: admins say which new tickets get which category and priority.

A rule has conditions (a keyword: any of its comma-separated phrases, as
whole words, in the subject or the body; the sender's school; the category
the customer chose) and effects (a category, a priority). All of a rule's
conditions must hold. Rules are tried in order (position, then age); the
first matching rule that sets a field sets it, and a later one cannot
change it. What the customer or the caller chose is kept: a rule gives a
category only to a ticket without one, and a priority only to one opened
at the default.

Every new ticket runs them (core.tickets.intake), the mail path included,
so they are read from the database and compiled once, and read again only
when the policy is (rows of the `setting` table change): adding or removing
a rule writes a new random version under VERSION_KEY into that table. Random,
not a counter: a change rolled back and another committed must not leave the
rows as they were when the first was read.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.config.policy import Policy
from core.models import Category, Office, Priority, Setting, TriageRule, User, utcnow
from core.words import N_

# The setting row whose change makes every process read the rules again.
VERSION_KEY = "triage_rules_version"
# Enough of a body to find what it is about; the rest of a long mail is history.
BODY_CHARS = 10_000


class RuleRefused(ValueError):
    """The rule as given cannot work (no condition, no effect, unknown school...)."""


@dataclass(frozen=True)
class Rule:
    """A rule as the intake tests it: plain values and one compiled pattern."""
    id: int
    pattern: re.Pattern[str] | None
    school_id: int | None
    category_id: int | None
    set_category_id: int | None
    set_priority_id: int | None

    def matches(self, subject: str, body: str, school_id: int | None, category_id: int | None) -> bool:
        if self.school_id is not None and self.school_id != school_id:
            return False
        if self.category_id is not None and self.category_id != category_id:
            return False
        return self.pattern is None or bool(self.pattern.search(subject) or self.pattern.search(body))


@dataclass(frozen=True)
class Decision:
    category_id: int | None = None
    priority_id: int | None = None


def phrases(keyword: str) -> list[str]:
    """The comma-separated phrases of a keyword, trimmed, empty ones left out."""
    return [p.strip() for p in keyword.split(",") if p.strip()]


def compile_keyword(keyword: str) -> re.Pattern[str] | None:
    """One pattern for all phrases: whole words, any case, any run of spaces between words."""
    alternatives = [r"\s+".join(re.escape(word) for word in phrase.split()) for phrase in phrases(keyword)]
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


_ORDER = (TriageRule.position, TriageRule.id)
_RULES = select(TriageRule.id, TriageRule.keyword, TriageRule.school_id, TriageRule.category_id,
                TriageRule.set_category_id, TriageRule.set_priority_id).order_by(*_ORDER)

# The policy the rules were last read with, and the rules (see the module's note).
_last: tuple[Policy, tuple[Rule, ...]] | None = None


def rules_for(session: Session, policy: Policy) -> tuple[Rule, ...]:
    """The compiled rules, read again only when `policy` is a new read of the settings."""
    global _last
    cached = _last
    if cached is not None and cached[0] is policy:
        return cached[1]
    rules = tuple(Rule(row.id, compile_keyword(row.keyword), row.school_id, row.category_id,
                       row.set_category_id, row.set_priority_id) for row in session.execute(_RULES))
    _last = (policy, rules)
    return rules


def decide(rules: tuple[Rule, ...], subject: str, body: str, school_id: int | None,
           category_id: int | None) -> Decision:
    """What the rules set for a new ticket with these facts (see the module's note on order)."""
    found_category = found_priority = None
    body = body[:BODY_CHARS]
    for rule in rules:
        if found_category is not None and found_priority is not None:
            break
        if (rule.set_category_id is None or found_category is not None) and \
                (rule.set_priority_id is None or found_priority is not None):
            continue  # it could change nothing left
        if rule.matches(subject, body, school_id, category_id):
            found_category = found_category or rule.set_category_id
            found_priority = found_priority or rule.set_priority_id
    return Decision(found_category, found_priority)


def list_rules(session: Session) -> list[TriageRule]:
    return list(session.scalars(select(TriageRule).order_by(*_ORDER)))


def add_rule(session: Session, actor: User, *, keyword: str = "", school_code: str = "",
             category_id: int | None = None, set_category_id: int | None = None,
             set_priority_id: int | None = None, position: int | None = None,
             customer_kind: str = "school") -> TriageRule:
    """A new rule, last unless a position is given; RuleRefused says what is wrong."""
    keyword = ", ".join(phrases(keyword))
    if len(keyword) > 200:
        raise RuleRefused(N_("keywords are at most 200 characters"))
    school = None
    if school_code.strip():
        school = session.scalar(select(Office).where(Office.code == school_code.strip().upper(),
                                                     Office.kind == customer_kind))
        if school is None:
            raise RuleRefused(N_("no school with code %(code)s") % {"code": school_code.strip().upper()})
    for wanted, model, missing in ((category_id, Category, N_("no such category")),
                                   (set_category_id, Category, N_("no such category")),
                                   (set_priority_id, Priority, N_("no such priority"))):
        if wanted and session.get(model, wanted) is None:
            raise RuleRefused(missing)
    if not (keyword or school or category_id):
        raise RuleRefused(N_("a rule needs a condition: a keyword, a school or a category"))
    if not (set_category_id or set_priority_id):
        raise RuleRefused(N_("a rule needs an effect: a category or a priority to set"))
    if position is None:
        position = (session.scalar(select(func.max(TriageRule.position))) or 0) + 1
    rule = TriageRule(position=position, keyword=keyword, school_id=school.id if school else None,
                      category_id=category_id or None, set_category_id=set_category_id or None,
                      set_priority_id=set_priority_id or None, created_at=utcnow())
    session.add(rule)
    session.flush()
    audit.record(session, None, "triage_rule", actor, to_value=describe(session, rule))
    _bump(session)
    return rule


def remove_rule(session: Session, actor: User, rule_id: int) -> None:
    rule = session.get(TriageRule, rule_id)
    if rule is None:
        raise RuleRefused(N_("no such rule"))
    audit.record(session, None, "triage_rule", actor, from_value=describe(session, rule))
    session.delete(rule)
    session.flush()
    _bump(session)


def describe(session: Session, rule: TriageRule) -> str:
    """"keyword 'dana bos' -> Keuangan, tinggi", for the audit trail."""
    when = [f"keyword '{rule.keyword}'" if rule.keyword else "",
            f"school {session.get(Office, rule.school_id).code}" if rule.school_id else "",
            f"category {session.get(Category, rule.category_id).name}" if rule.category_id else ""]
    then = [session.get(Category, rule.set_category_id).name if rule.set_category_id else "",
            session.get(Priority, rule.set_priority_id).name if rule.set_priority_id else ""]
    return f"#{rule.id} {' and '.join(w for w in when if w)} -> {', '.join(t for t in then if t)}"


def _bump(session: Session) -> None:
    row = session.get(Setting, VERSION_KEY) or Setting(key=VERSION_KEY)
    row.value = json.dumps(secrets.token_hex(8))
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
