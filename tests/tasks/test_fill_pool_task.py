"""The batch assignment of one office's pool, as a Celery worker runs it."""
from __future__ import annotations

import uuid

from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from celery_app import make_app
from core.models import Role, Ticket, User
from tasks.sweep import fill_pool
from tests._shared import wait_for
from tests.core.tiers import load_chain, open_from
from tests.factories import make_user


def unassigned(database) -> int:
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Ticket).where(Ticket.assignee_id.is_(None)))


def test_a_worker_hands_out_an_offices_pool(database):
    app = make_app(database.settings)
    app.conf.task_default_queue = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    with database.begin() as s:
        city = load_chain(s)["C3171"]
        for i in range(2):
            make_user(s, city, Role.agent, email=f"a{i}@staff.test", available=False)
        for _ in range(5):
            open_from(s, database.settings)
        s.execute(User.__table__.update().values(available=True))
        city_id = city.id
    assert unassigned(database) == 5
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.tasks[fill_pool.name].delay(city_id)
        wait_for(lambda: unassigned(database) == 0)
    with database.session() as s:
        loads = sorted(s.scalars(select(func.count()).select_from(Ticket).group_by(Ticket.assignee_id)))
    assert loads == [2, 3]
