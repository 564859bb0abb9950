"""A participant's copy of a staff reply: their own mail, their own link,
including for a participant added before links were per person."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.access.tokens import hash_token
from core.config.policy import load_policy
from core.mail import notices
from core.models import Direction, Message, Outbox, Participant
from core.tickets.intake import Incoming, open_ticket
from mailout.render import render
from tests.factories import load_directory, make_user

PRINCIPAL = "kepsek@sekolah.test"


def test_a_participant_from_before_gets_a_link_of_their_own_with_the_next_reply(session, settings):
    offices = load_directory(session)
    policy = load_policy(session)
    ticket = open_ticket(session, settings, policy, Incoming(
        from_address="sman1@sekolah.test", subject="Rapor digital", text="Tolong.", message_id="<c1@sekolah.test>"),
        school=offices["S001"])
    session.add(Participant(ticket_id=ticket.id, address=PRINCIPAL, source="mail"))  # as rows were: no link
    message = Message(ticket=ticket, direction=Direction.outbound, author=make_user(session, offices["C3171"]),
                      text="Sudah kami perbaiki.", full_text="Sudah kami perbaiki.", channel="portal")
    session.add(message)
    session.flush()
    mine = notices.staff_reply(session, settings, policy, ticket, message)
    copy = session.scalar(select(Outbox).where(Outbox.to_address == PRINCIPAL))
    assert copy.cc is None and mine.cc is None and copy.in_reply_to == mine.in_reply_to

    links = {row.to_address: re.search(rb"/t/([A-Za-z0-9_-]+)", render(session, settings, row).data).group(1)
             for row in (mine, copy)}
    participant = session.scalar(select(Participant).where(Participant.address == PRINCIPAL))
    assert participant.token_hash == hash_token(links[PRINCIPAL].decode())
    assert ticket.token_hash == hash_token(links["sman1@sekolah.test"].decode())
