"""The queue page's counts: kept a few seconds per process, exact again after a
change made through the portal; the list itself is always fresh (see also
tests/core/test_queues.py)."""
from __future__ import annotations

import re

from core.config.policy import Policy
from core.tickets.intake import Incoming, customer_office, open_ticket
from tests.portal.staff_world import log_in


def count_of(page: str, queue: str) -> int:
    return int(re.search(rf'queue={queue}"[^>]*>[^<]*<span class="count">(\d+)', page).group(1))


def test_taking_a_ticket_shows_in_the_counts_at_once(client, world):
    log_in(client, world.emails["c3171"])
    client.post("/staff/availability", data={"available": "0"})
    before = client.get("/staff/?queue=mine").text
    client.post(f"/staff/tickets/{world.refs['sman8']}/take")
    after = client.get("/staff/?queue=mine").text
    assert count_of(after, "mine") == count_of(before, "mine") + 1
    assert world.refs["sman8"] in after


def test_a_ticket_from_another_process_is_listed_at_once(client, database, world):
    log_in(client, world.emails["c3171"])
    client.post("/staff/availability", data={"available": "0"})
    client.get("/staff/?queue=open")  # counts now kept for a few seconds
    with database.begin() as s:  # as the mail server, another process, would
        policy = Policy()
        ref = open_ticket(s, database.settings, policy, Incoming(
            from_address="sman1@sekolah.test", subject="Akun terkunci", text="Mohon dibuka.",
            message_id="<akun@sekolah.test>"), school=customer_office(s, "sman1@sekolah.test", policy)).ref
    assert ref in client.get("/staff/?queue=open").text
