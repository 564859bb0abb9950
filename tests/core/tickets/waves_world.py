"""A wave of near-identical tickets for the bulk and incident tests: N schools
of City C3171, each with one ticket, plus one ticket of the sibling City C3172."""
from __future__ import annotations

from dataclasses import dataclass

from core.config.policy import Policy
from core.config.settings import Settings
from core.models import Office, Role, Ticket, User
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.factories import DIRECTORY, load_directory, make_user


def directory_with_schools(count: int) -> str:
    rows = [f"W{i:05d},SD Negeri {i} Jakarta,school,C3171,sdn{i}@sekolah.test" for i in range(count)]
    return DIRECTORY.rstrip("\n") + "\n" + "\n".join(rows) + "\n"


@dataclass
class Wave:
    tickets: list[Ticket]        # held by C3171, one per school
    sibling: Ticket              # held by C3172
    agent: User                  # of C3171
    offices: dict[str, Office]


def build_wave(session, settings: Settings, count: int, policy: Policy = Policy()) -> Wave:
    offices = load_directory(session, directory_with_schools(count))
    tickets = []
    for i in range(count):
        sender = f"sdn{i}@sekolah.test"
        tickets.append(open_ticket(session, settings, policy, Incoming(
            from_address=sender, subject="Dapodik tidak bisa sinkron", text=f"Sekolah {i}: sinkronisasi gagal.",
            message_id=f"<wave-{i}@sekolah.test>"), school=customer_office(session, sender, policy)))
    sibling = open_ticket(session, settings, policy, Incoming(
        from_address="smkn26@sekolah.test", subject="Dapodik tidak bisa sinkron", text="Sama.",
        message_id="<sibling@sekolah.test>"), school=customer_office(session, "smkn26@sekolah.test", policy))
    agent = make_user(session, offices["C3171"], Role.agent, email="agent@c3171.test")
    session.flush()
    return Wave(tickets, sibling, agent, offices)
