"""Unstaffed-ticket notices paced per office: a wave of mail to an office with
no available agent mails its supervisors once, then once more per quiet time
with the count of what arrived meanwhile (the sweep sends that summary)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from freezegun import freeze_time
from sqlalchemy import func, select

from core.config.policy import load_policy, update_policy
from core.demo import seed_defaults
from core.models import Office, Outbox, Role, StaffNotice, utcnow
from core.tickets.intake import Incoming, open_ticket
from core.tickets.sweep import run_sweep
from tests.factories import load_directory, make_user

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
CHIEF = "kasi.c3171@staff.test"


def setup(database, minutes: int | None = None) -> None:
    """Jakarta Selatan with a supervisor who is away and no agent at all."""
    with database.begin() as s:
        offices = load_directory(s)
        seed_defaults(s)
        make_user(s, offices["C3171"], Role.supervisor, email=CHIEF, available=False)
        if minutes is not None:
            update_policy(s, None, unstaffed_notice_minutes=minutes)


def wave(database, count: int, tag: str) -> None:
    """`count` new tickets from a school of Jakarta Selatan, now."""
    with database.begin() as s:
        policy, school = load_policy(s), s.scalar(select(Office).where(Office.code == "S001"))
        for number in range(count):
            open_ticket(s, database.settings, policy, Incoming(
                from_address="sman1@sekolah.test", subject=f"Gangguan {tag} {number}", text="Tolong.",
                message_id=f"<{tag}{number}@sekolah.test>"), school=school, now=utcnow())


def told(database) -> list[tuple[str, dict]]:
    """The supervisor's unstaffed mails, oldest first: (template, context)."""
    with database.session() as s:
        rows = s.execute(select(Outbox.template, Outbox.context).where(Outbox.to_address == CHIEF)
                         .order_by(Outbox.id)).all()
    return [(template, json.loads(context)) for template, context in rows]


def test_a_wave_mails_the_supervisors_once_then_one_summary_per_quiet_time(database):
    setup(database)  # the default: 15 minutes
    with freeze_time(T0):
        wave(database, 500, "a")
    assert [template for template, _ in told(database)] == ["unstaffed"]
    with database.session() as s:  # the portal still lists every ticket
        assert s.scalar(select(func.count()).select_from(StaffNotice)) == 500

    with freeze_time(T0 + timedelta(minutes=10)):
        assert run_sweep(database, utcnow()).unstaffed_told == 0  # still quiet
    with freeze_time(T0 + timedelta(minutes=16)):
        assert run_sweep(database, utcnow()).unstaffed_told == 1
        assert run_sweep(database, utcnow()).unstaffed_told == 0  # told once
    template, context = told(database)[-1]
    assert template == "unstaffed_summary" and context["count"] == 499
    assert context["queue_link"].endswith("/staff/?queue=unassigned")

    with freeze_time(T0 + timedelta(minutes=20)):  # within the summary's quiet time: counted
        wave(database, 3, "b")
    assert len(told(database)) == 2
    with freeze_time(T0 + timedelta(minutes=32)):
        assert run_sweep(database, utcnow()).unstaffed_told == 1
    assert told(database)[-1][1]["count"] == 3

    with freeze_time(T0 + timedelta(minutes=50)):  # quiet again, nothing held: told at once
        wave(database, 1, "c")
        assert run_sweep(database, utcnow()).unstaffed_told == 0
    assert told(database)[-1][0] == "unstaffed" and told(database)[-1][1]["subject"] == "Gangguan c 0"


def test_with_no_quiet_time_every_ticket_is_told(database):
    setup(database, minutes=0)
    with freeze_time(T0):
        wave(database, 4, "a")
        assert run_sweep(database, utcnow()).unstaffed_told == 0
    assert [template for template, _ in told(database)] == ["unstaffed"] * 4


def test_an_office_nobody_could_be_told_of_starts_no_quiet_time(database):
    with database.begin() as s:
        load_directory(s)
        seed_defaults(s)
    with freeze_time(T0):
        wave(database, 2, "a")  # no supervisor, no mailbox, no chat: nobody told
    with database.begin() as s:
        make_user(s, s.scalar(select(Office).where(Office.code == "C3171")), Role.supervisor, email=CHIEF,
                  available=False)
    with freeze_time(T0 + timedelta(minutes=1)):
        wave(database, 1, "b")
    assert [template for template, _ in told(database)] == ["unstaffed"]
