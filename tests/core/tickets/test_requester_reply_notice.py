"""The agent holding a ticket hears when the customer writes again, by mail
or from the private page; nobody is mailed for an unassigned ticket or for
an automatic reply."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from core.config.policy import Policy
from core.models import Outbox, Status
from core.tickets.arrival import route
from core.tickets.assignment import assign_to
from core.tickets.intake import Incoming
from core.tickets.lifecycle import move
from core.tickets.requester import customer_reply
from mailout.render import render_parts
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user


def notices_to(session, address):
    return list(session.scalars(select(Outbox).where(Outbox.template == "customer_reply",
                                                     Outbox.to_address == address)))


def held_ticket(session, settings):
    offices = load_chain(session)
    agent = make_user(session, offices["C3172"], available=False)
    ticket = open_from(session, settings, "smkn26@sekolah.test")
    assign_to(session, ticket, "system", agent, now=T0)
    return ticket, agent


def test_a_mail_reply_that_reopens_the_ticket_tells_its_agent(session, settings):
    ticket, agent = held_ticket(session, settings)
    move(session, ticket, Status.answered, "system", now=T0)
    route(session, settings, Policy(), Incoming(from_address="smkn26@sekolah.test", subject=f"Re: [{ticket.ref}]",
                                                text="Masih <b>belum</b> cair, Pak."),
          ticket=ticket, now=T0 + timedelta(hours=2))
    [row] = notices_to(session, agent.email)
    context = json.loads(row.context)
    assert context["reopened"] is True and context["excerpt"] == "Masih <b>belum</b> cair, Pak."
    subject, text, html = render_parts(settings, "customer_reply", "en", context)
    assert subject == f"Reopened by the customer: {ticket.subject}"
    assert "Masih <b>belum</b> cair, Pak." in text
    assert "Masih &lt;b&gt;belum&lt;/b&gt; cair, Pak." in html


def test_a_reply_from_the_private_page_tells_the_agent_too(session, settings):
    ticket, agent = held_ticket(session, settings)
    customer_reply(session, settings, Policy(), ticket, "Lampiran sudah saya kirim.", [], T0 + timedelta(hours=1))
    [row] = notices_to(session, agent.email)
    assert json.loads(row.context)["reopened"] is False


def test_nobody_is_mailed_for_an_unassigned_ticket_or_an_auto_reply(session, settings):
    load_chain(session)
    ticket = open_from(session, settings, "smkn26@sekolah.test")  # no agent available: unassigned
    route(session, settings, Policy(), Incoming(from_address="smkn26@sekolah.test", subject="Re", text="x"),
          ticket=ticket, now=T0 + timedelta(hours=1))
    held, agent = held_ticket_in(session, settings, ticket)
    route(session, settings, Policy(), Incoming(from_address="smkn26@sekolah.test", subject="Out of office",
                                                text="Saya sedang cuti.", auto_reply=True),
          ticket=held, now=T0 + timedelta(hours=2))
    assert session.scalars(select(Outbox).where(Outbox.template == "customer_reply")).all() == []


def held_ticket_in(session, settings, ticket):
    agent = make_user(session, ticket.office, available=False)
    assign_to(session, ticket, "system", agent, now=T0)
    return ticket, agent
