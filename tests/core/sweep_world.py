"""A committed little world for sweep tests: the chain with a Region, staff in
every office on the way up, and the four default priorities."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.config.policy import Policy
from core.demo import seed_defaults
from core.models import Office, Priority, Role, Ticket
from core.tickets.intake import customer_office, open_ticket
from tests.core.tiers import load_chain, mail
from tests.factories import make_user


def build(database) -> None:
    with database.begin() as s:
        offices = load_chain(s)
        seed_defaults(s)
        for code in ("C3171", "R31A", "P31"):
            make_user(s, offices[code], Role.agent)
        make_user(s, offices["MIN"], Role.admin)


def open_at(database, at: datetime, priority: str = "normal", sender: str = "sman1@sekolah.test") -> int:
    with database.begin() as s:
        policy = Policy()
        level = s.scalar(select(Priority).where(Priority.name == priority))
        return open_ticket(s, database.settings, policy, mail(sender), school=customer_office(s, sender, policy),
                           priority=level, now=at).id


def read(database, ticket_id: int) -> Ticket:
    with database.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        _ = ticket.office.code, ticket.events, ticket.assignee  # load before the session ends
        return ticket


def office_id(database, code: str) -> int:
    with database.begin() as s:
        return s.scalar(select(Office.id).where(Office.code == code))
