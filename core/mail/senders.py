"""Admins' ban and allow lists of senders: addresses and whole domains.

A banned sender is refused at the SMTP dialogue (550), its envelope sender
at RCPT and its header From at DATA; an allowed one is taken whatever the
spam filter says. An address rule is more specific than a domain rule, so
an allowed address at a banned domain gets through.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import audit
from core.models import SenderRule, SenderRuleKind, User
from core.storage.db import Database

# name@domain, or a bare domain (a leading "@" is dropped): no spaces, at
# least one dot in the domain, as RFC 5321 addresses on the internet have.
_PATTERN = re.compile(r"^(?:[^@\s]+@)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


class BadPattern(ValueError):
    """Not an address or a domain."""


class NotFound(LookupError):
    pass


def normalise(pattern: str) -> str:
    """The stored form of an address or domain: lower case, without a leading
    "@"; BadPattern when it is neither."""
    value = pattern.strip().lower().removeprefix("@")
    if len(value) > 254 or not _PATTERN.match(value):
        raise BadPattern(pattern)
    return value


def add_rule(session: Session, actor: User, kind: SenderRuleKind, pattern: str, reason: str) -> SenderRule:
    """Ban or allow an address or domain; a rule for the same one is replaced."""
    value = normalise(pattern)
    rule = session.scalar(select(SenderRule).where(SenderRule.pattern == value))
    if rule is None:
        rule = SenderRule(pattern=value)
        session.add(rule)
    rule.kind, rule.reason = kind, reason.strip()[:1000]
    audit.record(session, None, f"sender_{kind.value}", actor, to_value=value, detail=rule.reason)
    session.flush()
    return rule


def remove_rule(session: Session, actor: User, rule_id: int) -> None:
    rule = session.get(SenderRule, rule_id)
    if rule is None:
        raise NotFound(rule_id)
    audit.record(session, None, f"sender_{rule.kind.value}_removed", actor, to_value=rule.pattern)
    session.delete(rule)
    session.flush()


def rules(session: Session) -> list[SenderRule]:
    return list(session.scalars(select(SenderRule).order_by(SenderRule.kind, SenderRule.pattern)))


class Verdict(NamedTuple):
    """The rule that applies to a sender, as the mail path reads it."""
    kind: SenderRuleKind
    pattern: str
    reason: str

    @property
    def bans(self) -> bool:
        return self.kind is SenderRuleKind.ban


# The address and its domains up to this many labels from the left are
# looked up: a domain rule covers the domain and subdomains that deep.
_CANDIDATES = 8
_RULES = (select(SenderRule.pattern, SenderRule.kind, SenderRule.reason)
          .where(SenderRule.pattern.in_([bindparam(f"c{i}") for i in range(_CANDIDATES)])))


def candidates(address: str) -> list[str]:
    """What a rule for this address may name: the address, its domain, each
    parent domain (not the bare top-level one), the most specific first."""
    address = address.strip().lower()
    labels = address.rpartition("@")[2].split(".")
    return [address, *(".".join(labels[i:]) for i in range(len(labels) - 1))][:_CANDIDATES]


def rule_for(db: Database, address: str | None, seen: dict[str, Verdict | None] | None = None) -> Verdict | None:
    """The rule that applies to an address: its own, else its domain's (or
    the nearest parent domain's); None when none does. Read outside any
    transaction (Database.read_plain): the SMTP server asks for every mail.

    `seen` holds the rules already read for one SMTP transaction, by
    address: the envelope sender's rule, read at RCPT, is as a rule the
    header From's at DATA a moment later, and is not read again (as a
    change made meanwhile applies from the next mail)."""
    if not address or "@" not in address:
        return None
    key = address.strip().lower()
    if seen is not None and key in seen:
        return seen[key]
    wanted = candidates(key)
    params = {f"c{i}": wanted[i] if i < len(wanted) else "" for i in range(_CANDIDATES)}
    found = {pattern: Verdict(SenderRuleKind(kind), pattern, reason)
             for pattern, kind, reason in db.read_plain(_RULES, params)}
    rule = next((found[c] for c in wanted if c in found), None)
    if seen is not None:
        seen[key] = rule
    return rule
