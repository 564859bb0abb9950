"""The connection pool: a connection that sat idle is checked before use, a busy one is not."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from core.storage import db as core_db
from core.storage.db import make_engine
from tests.conftest import ON_POSTGRES, SERVER_URL

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="pinging concerns a server's connections")


def _kill(pid: int) -> None:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_an_idle_connection_lost_by_the_server_is_replaced_before_use(monkeypatch):
    engine = make_engine(SERVER_URL, pool_size=1, max_overflow=0)
    try:
        _kill(_backend_pid(engine))
        monkeypatch.setattr(core_db.time, "monotonic", lambda: 1e12)  # as if idle for ages
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(monkeypatch):
    engine = make_engine(SERVER_URL, pool_size=1, max_overflow=0)
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda dbapi_conn: pings.append(1) or ping(dbapi_conn))
    try:
        for _ in range(3):
            _backend_pid(engine)
        assert pings == []
        monkeypatch.setattr(core_db.time, "monotonic", lambda: 1e12)
        _backend_pid(engine)
        assert pings == [1]
    finally:
        engine.dispose()
