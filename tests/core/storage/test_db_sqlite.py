"""SQLite: writers queue on the write lock; Database.read() does not."""
from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import func, select

from core.models import Setting
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="the write lock is SQLite's")


def test_a_read_session_sees_committed_data_while_a_writer_holds_the_lock(database):
    writer = sqlite3.connect(database.engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO setting (key, value, updated_at) VALUES ('x', '1', '2026-01-01 00:00:00')")
        started = time.monotonic()
        with database.read() as s:
            seen = s.scalar(select(func.count()).select_from(Setting))
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert seen == 0  # the writer's row is not committed
    assert waited < 5  # the busy timeout is 30 s: it did not queue behind the writer
