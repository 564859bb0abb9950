"""Triage through the real SMTP server: the SLA clocks of a mailed ticket
pause over a weekend on hold, and admins' rules set a mailed ticket's
category and priority."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import select

from core.config.policy import load_policy
from core.models import Category, Event, Office, Priority, Role, Status, Ticket
from core.tickets import actions, rules
from tests.factories import make_user
from tests.mailin.conftest import transcript
from tests.mailin.mails import mail

OK = [250, 250, 250, 250, 221]
FRIDAY_10 = datetime(2026, 3, 6, 10, 0, tzinfo=timezone.utc)
MONDAY_12 = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)


def the_ticket(db) -> Ticket:
    with db.session() as session:
        return session.scalars(select(Ticket)).one()


def test_a_weekend_on_hold_moves_the_due_times_of_a_mailed_ticket_by_the_weekend(db, smtp_server):
    with freeze_time(FRIDAY_10, tick=True, real_asyncio=True):
        assert transcript(smtp_server.port, mail(subject="Rapor tidak bisa dicetak")) == OK
    opened = the_ticket(db)
    due = opened.resolution_due_at
    assert due - opened.created_at == timedelta(hours=120)  # normal: 120 h, around the clock
    with db.begin() as session:
        ticket = session.get(Ticket, opened.id)
        agent = make_user(session, ticket.office, Role.agent)
        actions.change_status(session, db.settings, load_policy(session), ticket, agent, Status.on_hold,
                              reason="Menunggu data dari sekolah", now=FRIDAY_10 + timedelta(hours=2))
    with freeze_time(MONDAY_12, tick=True, real_asyncio=True):
        reply = mail(subject=f"Re: [{opened.ref}] Rapor tidak bisa dicetak", body="Datanya sudah kami kirim.")
        assert transcript(smtp_server.port, reply) == OK
    resumed = the_ticket(db)
    assert resumed.status is Status.open and resumed.sla_paused_at is None
    stood = timedelta(seconds=resumed.sla_paused_seconds)
    assert timedelta(hours=72) <= stood < timedelta(hours=72, minutes=1)  # Friday 12:00 to Monday 12:00
    assert resumed.resolution_due_at == due + stood


def test_a_rule_sets_category_and_priority_of_a_mailed_ticket(db, smtp_server):
    with db.begin() as session:
        keuangan = Category(name="Keuangan")
        session.add(keuangan)
        session.flush()
        high = session.scalars(select(Priority).where(Priority.name == "tinggi")).one()
        admin = make_user(session, session.scalars(select(Office).where(Office.code == "MIN")).one(), Role.admin)
        rules.add_rule(session, admin, keyword="dana bos, tunjangan", set_category_id=keuangan.id,
                       set_priority_id=high.id)
        keuangan_id, high_id = keuangan.id, high.id
    assert transcript(smtp_server.port, mail(subject="Dana BOS belum cair", body="Sudah tiga bulan.")) == OK
    assert transcript(smtp_server.port, mail(subject="Rapor tidak bisa dicetak")) == OK
    with db.session() as session:
        bos, rapor = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert (bos.category_id, bos.priority_id) == (keuangan_id, high_id)
        assert (bos.first_response_due_at - bos.created_at, bos.resolution_due_at - bos.created_at) == (
            timedelta(hours=8), timedelta(hours=48))
        assert rapor.category_id is None and rapor.priority.name == "normal"
        triaged = session.scalars(select(Event.to_value).where(Event.kind == "triaged")).all()
        assert triaged == ["category Keuangan, priority tinggi"]
