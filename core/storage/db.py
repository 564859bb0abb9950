"""Engines and sessions. Callers own their transactions: `with db.begin() as s:`."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import Compiled, Engine, Executable, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from core.storage import fast

if TYPE_CHECKING:  # storage sits below config: it reads a Settings, it does not load one
    from core.config.settings import Settings

# A pooled connection idle longer than this is pinged before use; one in
# steady use is not. Servers and firewalls drop idle connections, not busy ones.
PING_AFTER_IDLE_SECONDS = 10


def is_sqlite_url(url: str) -> bool:
    """Whether a database URL names SQLite, before any engine is made for it."""
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs) -> Engine:
    if is_sqlite_url(url):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_recycle", 3600)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    fast.watch(engine)  # writes nothing waits on go out with the next statement
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle.

    pool_pre_ping costs a round trip on every checkout, which on a busy page
    is a fifth of the request. A connection returned moments ago is alive;
    one idle for a while may have been dropped (server restart, idle
    timeout), so it is pinged, and a dead one is replaced before the caller
    sees it. A server lost while connections are busy fails those requests
    once: SQLAlchemy then invalidates the whole pool.
    """
    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_conn, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"idle connection lost: {error}") from error


# The execution option that marks Database.read()'s connections on SQLite.
READ_ONLY = "helpdesk_read_only"


def _tune_sqlite(engine: Engine) -> None:
    # pysqlite starts transactions lazily and as readers; a reader that later
    # writes can fail at once under concurrency instead of waiting. We take the
    # write lock at BEGIN, so writers queue behind busy_timeout and never
    # deadlock; WAL keeps readers of committed data unblocked. synchronous=FULL
    # fsyncs the log at each commit: with NORMAL, the last commits before a
    # power cut are lost, and a mail answered 250 must not be (the mail
    # servers' writer process shares one commit among many mails).
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # Database.read()'s sessions only read: a deferred BEGIN gives them a
        # snapshot of the WAL without queueing behind the writers, and
        # query_only makes a write in one fail at once instead of taking the
        # lock unawares. The pragma stays with the pooled connection, so it
        # is set only when the connection changes from one use to the other.
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        info = conn.connection.info
        if info.get("query_only", False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            info["query_only"] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory for a process."""

    def __init__(self, settings: Settings, **engine_kwargs):
        self.settings = settings
        self.engine = make_engine(settings.database_url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL: reads of one statement or a few need no BEGIN and COMMIT round trips.
        self.reader = self.engine.execution_options(**{READ_ONLY: True}) if self.is_sqlite \
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.readers = sessionmaker(self.reader, expire_on_commit=False)
        self._plain: dict[Executable, Compiled] = {}

    def begin(self) -> Session:
        """A session inside one transaction: commits on success, rolls back on error."""
        return self.sessions.begin()

    def read(self) -> Session:
        """A session for reading only; on PostgreSQL in autocommit, each statement its
        own snapshot (as READ COMMITTED gives anyway); on SQLite a deferred
        transaction, which reads a snapshot without taking the write lock."""
        return self.readers.begin()

    def read_plain(self, statement: Executable, params: dict | None = None) -> list[tuple]:
        """The rows of one query, straight from the driver, outside any
        transaction (one statement is its own snapshot): an eighth of the cost
        of a read() session, for the queries every mail runs. Parameters and
        values are as the driver takes and gives them, with no type's
        conversion: text and numbers only."""
        sql, values = self._query(statement, params)
        if self.is_sqlite:  # its connections are in autocommit already (_tune_sqlite)
            return _fetch_all(self.engine.raw_connection(), sql, values)
        # PostgreSQL: through the autocommit reader, so psycopg sends no BEGIN and
        # the pool no ROLLBACK on return, which would also drop the connection's
        # prepared statements (psycopg clears them on every rollback).
        with self.reader.connect() as connection:
            return _fetch_all(connection.connection, sql, values, close=False)

    def read_plain_many(self, reads: list[tuple[Executable, dict | None]]) -> list[list[tuple]]:
        """read_plain of several queries: on PostgreSQL in one round trip
        (psycopg's pipeline mode, on one autocommit connection; each query
        is still its own snapshot), elsewhere one after the other."""
        if self.is_sqlite or not fast.pipelines(self.engine):
            return [self.read_plain(statement, params) for statement, params in reads]
        queries = [self._query(statement, params) for statement, params in reads]
        with self.reader.connect() as connection:
            dbapi_connection = connection.connection.dbapi_connection
            cursors = [dbapi_connection.cursor() for _ in queries]
            try:
                with dbapi_connection.pipeline():
                    for cursor, (sql, values) in zip(cursors, queries):
                        cursor.execute(sql, values)
                return [cursor.fetchall() for cursor in cursors]
            finally:
                for cursor in cursors:
                    cursor.close()

    def _query(self, statement: Executable, params: dict | None) -> tuple[str, object]:
        """The statement's SQL, compiled once, and its values as the driver takes them."""
        compiled = self._plain.get(statement)
        if compiled is None:
            compiled = self._plain[statement] = statement.compile(self.engine)
        values = compiled.construct_params(params or {})
        if compiled.positiontup is not None:
            values = [values[name] for name in compiled.positiontup]
        return compiled.string, values

    def session(self) -> Session:
        return self.sessions()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def _fetch_all(connection, sql: str, values, *, close: bool = True) -> list[tuple]:
    """Run one statement on a pooled DB-API connection and give back its rows
    (and the connection to the pool, if `close`)."""
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, values)
            return cursor.fetchall()
        finally:
            cursor.close()
    finally:
        if close:
            connection.close()


# SQLite names every failure OperationalError; only these may pass by themselves.
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_transient(error: BaseException) -> bool:
    """Database trouble that may pass: down, disconnected, locked, timed out."""
    if isinstance(error, TimeoutError):  # core.storage.writelock's, among others
        return True
    if isinstance(error, (exc.InterfaceError, exc.TimeoutError)):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.OperationalError):
        if type(error.orig).__module__ == "sqlite3":
            return any(word in str(error.orig).lower() for word in _SQLITE_TRANSIENT)
        return True
    return False
