"""The mails the sweep queues when an SLA due time nears or passes."""
import email
import json
from datetime import timedelta
from email import policy as email_policy

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import load_policy
from core.mail import notices
from core.models import Office, Outbox, Role, Ticket, User
from core.tickets.sweep import run_sweep
from mailout.render import render
from tests.core.sweep_world import build, open_at
from tests.core.tiers import T0, load_chain, open_from
from tests.factories import make_user

AGENT = "agent.c3171@staff.test"


def mails(database, template: str) -> list[Outbox]:
    with database.begin() as s:
        return list(s.scalars(select(Outbox).where(Outbox.template == template).order_by(Outbox.id)))


def sweep_at(database, at) -> None:
    with freeze_time(at):
        run_sweep(database)


def test_the_warning_mail_is_queued_at_the_warning_minute_not_before_and_once(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")  # 8 h to first response, warned 2 h before
    sweep_at(database, T0 + timedelta(hours=5, minutes=59))
    assert mails(database, "sla_warning") == []
    sweep_at(database, T0 + timedelta(hours=6))
    for minutes in (1, 30, 119):
        sweep_at(database, T0 + timedelta(hours=6, minutes=minutes))
    [row] = mails(database, "sla_warning")
    assert (row.ticket_id, row.to_address, row.created_at) == (ticket_id, AGENT, T0 + timedelta(hours=6))
    context = json.loads(row.context)
    assert (context["clock"], context["due"]) == ("first response", "2026-03-02 16:00 UTC")
    assert mails(database, "sla_breached") == []


def test_the_breach_mail_is_queued_at_the_breach_minute_not_before_and_once(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")
    sweep_at(database, T0 + timedelta(hours=7, minutes=59))
    assert mails(database, "sla_breached") == []
    for minutes in (0, 1, 60, 24 * 60):
        sweep_at(database, T0 + timedelta(hours=8, minutes=minutes))
    [row] = mails(database, "sla_breached")
    assert (row.ticket_id, row.to_address, row.created_at) == (ticket_id, AGENT, T0 + timedelta(hours=8))
    assert json.loads(row.context)["clock"] == "first response"
    assert len(mails(database, "sla_warning")) == 1  # the warning came first, and only once


def test_a_resolution_breach_names_the_resolution_clock(database):
    build(database)
    ticket_id = open_at(database, T0, "tinggi")  # resolution within 48 h
    with database.begin() as s:
        s.get(Ticket, ticket_id).first_response_at = T0 + timedelta(hours=1)
    sweep_at(database, T0 + timedelta(hours=48))
    [row] = mails(database, "sla_breached")
    assert json.loads(row.context)["due"] == "2026-03-04 08:00 UTC"
    assert json.loads(row.context)["clock"] == "resolution"


def test_an_unassigned_tickets_notices_go_to_the_offices_active_staff(database):
    build(database)
    with database.begin() as s:
        city = s.scalar(select(Office).where(Office.code == "C3171"))
        make_user(s, city, Role.supervisor, available=False)
        gone = make_user(s, city, Role.agent, email="gone@staff.test", available=False)
        gone.active = False
        s.scalar(select(User).where(User.email == AGENT)).available = False
    ticket_id = open_at(database, T0, "tinggi")
    sweep_at(database, T0 + timedelta(hours=6))
    assert {row.to_address for row in mails(database, "sla_warning")} == {AGENT, "supervisor.c3171@staff.test"}
    assert all(row.ticket_id == ticket_id for row in mails(database, "sla_warning"))


def test_an_offices_shared_mailbox_stands_for_its_staff(database):
    build(database)
    with database.begin() as s:
        s.scalar(select(Office).where(Office.code == "C3171")).email = "helpdesk@jaksel.test"
        s.scalar(select(User).where(User.email == AGENT)).available = False
    open_at(database, T0, "tinggi")
    sweep_at(database, T0 + timedelta(hours=8))
    assert [row.to_address for row in mails(database, "sla_breached")] == ["helpdesk@jaksel.test"]


def test_an_escalated_breach_is_told_to_who_let_it_run_late_and_the_next_tier(database):
    build(database)
    open_at(database, T0, "mendesak")  # 2 h, escalates on breach
    sweep_at(database, T0 + timedelta(hours=2))
    assert [row.to_address for row in mails(database, "sla_breached")] == [AGENT]
    assert [row.to_address for row in mails(database, "forwarded_staff")] == ["agent.r31a@staff.test"]


@pytest.mark.parametrize("language, words", [("id", "Peringatan SLA: batas respons pertama"),
                                             ("en", "SLA warning: first response due soon")])
def test_the_warning_renders_in_both_languages_with_the_staff_link(session, settings, language, words):
    make_user(session, load_chain(session)["C3171"])
    ticket = open_from(session, settings)
    [row] = notices.sla_warning(session, settings, load_policy(session), ticket, "first response",
                                T0 + timedelta(hours=8), now=T0)
    row.language = language
    mail = email.message_from_bytes(render(session, settings, row).as_bytes(), policy=email_policy.default)
    assert words in mail["Subject"] and ticket.ref in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert f"http://helpdesk.test/staff/tickets/{ticket.ref}" in body and "2026-03-02 16:00 UTC" in body
    assert mail.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("language, words", [("id", "SLA terlampaui: batas penyelesaian lewat"),
                                             ("en", "SLA breached: resolution overdue")])
def test_the_breach_renders_in_both_languages(session, settings, language, words):
    make_user(session, load_chain(session)["C3171"])
    ticket = open_from(session, settings)
    [row] = notices.sla_breached(session, settings, load_policy(session), ticket, "resolution",
                                 T0 + timedelta(hours=48), now=T0)
    row.language = language
    mail = email.message_from_bytes(render(session, settings, row).as_bytes(), policy=email_policy.default)
    assert words in mail["Subject"]
    assert mail.get_body(("html",)).get_content().startswith("<!DOCTYPE html>")
