"""On SQLite, Database.read() only reads: a write in one fails
at once instead of taking the write lock unawares, and leaves the pooled
connection fit for the writers that use it next. (On PostgreSQL it runs in
autocommit, where psycopg's read-only flag has no effect.)"""
from __future__ import annotations

import pytest
from sqlalchemy import exc, func, insert, select

from core.models import Setting, utcnow
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="query_only is SQLite's")

ROW = {"key": "x", "value": "1", "updated_at": utcnow()}


def count(database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(Setting))


def test_a_write_in_a_read_fails_and_the_next_writer_on_its_connection_writes(database):
    with pytest.raises(exc.DBAPIError, match="(?i)read-?only"):
        with database.read() as reading:
            reading.execute(insert(Setting).values(**ROW))
    assert count(database) == 0
    with database.begin() as session:  # one pooled connection on SQLite: the same one
        session.execute(insert(Setting).values(**ROW))
    assert count(database) == 1


def test_a_commit_is_on_disk_before_it_returns(database):
    """synchronous=FULL: with NORMAL, WAL's commits since the last checkpoint
    are lost in a power cut, among them mail already answered 250."""
    with database.begin() as session:
        assert session.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
