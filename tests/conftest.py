"""Fixtures for a real database: SQLite files by default, PostgreSQL when
HELPDESK_DATABASE_URL names one (as .ci/run does).

- `session`: a session on the run's shared database, inside an outer
  transaction rolled back after the test (fast; for core logic).
- `database`: a fresh, empty database of its own with the schema, for code that
  commits (servers, the CLI, concurrency); dropped afterwards.

And `relay`, a real SMTP relay on loopback that keeps what it receives, for
the tests of every package that delivers mail.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.config.settings import Settings, load_settings
from core.models import Base
from core.storage.db import Database, make_engine
from tests.dnsserver import LocalDns, shared_dns
from tests.mailout.relay import Relay

SERVER_URL = os.environ.get("HELPDESK_DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith("postgresql")


def _create_database(tmp: Path) -> str:
    """A new empty database: a SQLite file in tmp, or a new PostgreSQL database."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp / 'helpdesk.db'}"
    name = f"hd_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    if not ON_POSTGRES:
        return
    name = make_url(url).database
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_settings(data_dir: Path, database_url: str, **overrides) -> Settings:
    environ = {
        "HELPDESK_DATA_DIR": str(data_dir),
        "HELPDESK_DATABASE_URL": database_url,
        "HELPDESK_SECRET_KEY": "test-secret-key",
        "HELPDESK_ADDRESS": "helpdesk@helpdesk.test",
        "HELPDESK_BASE_URL": "http://helpdesk.test",
        "HELPDESK_BROKER_URL": os.environ.get("HELPDESK_BROKER_URL", ""),
        # Sender authentication asks a local DNS server, never the real DNS.
        "HELPDESK_DNS_RESOLVER": shared_dns().address,
        "HELPDESK_DNS_TIMEOUT": "1",
    }
    return replace(load_settings(environ), **overrides)


@pytest.fixture(scope="session")
def shared_database(tmp_path_factory):
    url = _create_database(tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    _drop_database(url)


@pytest.fixture
def settings(tmp_path, shared_database) -> Settings:
    return make_settings(tmp_path / "data", shared_database.url.render_as_string(hide_password=False))


@pytest.fixture
def session(shared_database):
    with shared_database.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint",
                     expire_on_commit=False) as s:
            yield s
        outer.rollback()


@pytest.fixture
def database(tmp_path) -> Database:
    url = _create_database(tmp_path)
    db = Database(make_settings(tmp_path / "data", url))
    Base.metadata.create_all(db.engine)
    yield db
    db.engine.dispose()
    _drop_database(url)


@pytest.fixture
def dns() -> LocalDns:
    """The local DNS server every test's settings point at, with no records:
    the test adds those it needs."""
    server = shared_dns()
    server.clear()
    yield server
    server.clear()


@pytest.fixture
def relay() -> Relay:
    running = Relay().start()
    yield running
    running.stop()
