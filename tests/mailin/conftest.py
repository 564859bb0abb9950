"""A directory in a committing database, and the real SMTP server on a free
loopback port in front of it."""
from __future__ import annotations

import contextlib
import smtplib
import sqlite3

import pytest
from sqlalchemy import event, text

from core.demo import seed_defaults
from core.models import Base
from core.storage.db import Database, make_engine
from mailin.smtpd import BackgroundServer
from tests.conftest import _create_database, _drop_database, make_settings
from tests.factories import load_directory


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory):
    """One database per test module: creating a PostgreSQL database costs
    about a second, emptying one a few milliseconds."""
    url = _create_database(tmp_path_factory.mktemp("mailin-db"))
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    _drop_database(url)


@pytest.fixture
def db(module_database_url, tmp_path):
    """A committing Database, emptied, with the test directory and default
    priorities, and a data dir of its own."""
    db = Database(make_settings(tmp_path / "data", module_database_url))
    with db.begin() as session:
        empty(session)
        load_directory(session)
        seed_defaults(session)
    yield db
    db.engine.dispose()


def empty(session) -> None:
    tables = Base.metadata.sorted_tables
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    for table in reversed(tables):
        session.execute(table.delete())


@pytest.fixture
def smtp_server(db):
    server = BackgroundServer(db).start()
    yield server
    server.stop()


def transcript(port: int, raw: bytes, *, mail_from: str = "sender@sekolah.test",
               rcpt: tuple[str, ...] = ("helpdesk@helpdesk.test",)) -> list[int]:
    """The reply codes of one whole SMTP session: EHLO, MAIL, each RCPT, DATA (if
    any recipient was taken), QUIT."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        codes = [client.ehlo("client.test")[0], client.mail(mail_from)[0]]
        accepted = False
        for address in rcpt:
            code = client.rcpt(address)[0]
            codes.append(code)
            accepted |= code == 250
        if accepted:
            codes.append(client.data(raw)[0])
        codes.append(client.quit()[0])
    return codes


def impatient(db: Database) -> Database:
    """Another Database on the same data that waits only briefly for a lock,
    so a locked database fails within the test instead of after 30 s."""
    if db.is_sqlite:
        other = Database(db.settings)

        @event.listens_for(other.engine, "connect")
        def short_busy_timeout(dbapi_conn, _record):
            dbapi_conn.execute("PRAGMA busy_timeout=200")
        return other
    return Database(db.settings, connect_args={"options": "-c lock_timeout=300"})


@contextlib.contextmanager
def locked(db: Database):
    """Hold the database's write lock (SQLite) or lock the mail and ticket
    tables (PostgreSQL) from another connection, as a stuck process would."""
    if db.is_sqlite:
        conn = sqlite3.connect(db.engine.url.database, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("LOCK TABLE raw_mail, ticket IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            conn.rollback()
