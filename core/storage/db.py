"""Engines and sessions. Callers own their transactions: `with db.begin() as s:`."""
from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Callable, NamedTuple

from sqlalchemy import Compiled, Connection, Engine, Executable, Insert, Select, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

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
        compiled = self._plain.get(statement)
        if compiled is None:
            compiled = self._plain[statement] = statement.compile(self.engine)
        values = compiled.construct_params(params or {})
        if compiled.positiontup is not None:
            values = [values[name] for name in compiled.positiontup]
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.string, values)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            connection.close()

    def session(self) -> Session:
        return self.sessions()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


# Statements the mail path runs straight through the driver (write_plain,
# select_plain, run_plain). SQLAlchemy spends about 90 us of Python on a
# statement the driver runs in 10 us, and the one process that writes for
# every mail server process (mailin.writer) runs about fifteen per mail.


class _Plain(NamedTuple):
    """A statement compiled for the driver, with what its values need."""
    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them
    processors: tuple[Callable[[object], object] | None, ...]  # each type's conversion for the driver
    key: str | None = None  # an INSERT's integer primary key column, which the row id gives
    results: tuple[Callable[[object], object] | None, ...] = ()  # a SELECT's columns' conversions back
    row: type | None = None  # a SELECT's rows: named tuples of the columns' keys


# Each statement (and set of parameter names) is compiled once and kept, up to a bound.
_plans: dict[tuple, _Plain | None] = {}
_PLANS_KEPT = 500


def write_plain(connection: Connection, statement: Insert | Executable, params: dict) -> tuple | None:
    """Run an INSERT or UPDATE that is given every value; an INSERT returns
    its primary key, as `inserted_primary_key` does. On SQLite, a statement
    that needs nothing of SQLAlchemy's execution (no default or onupdate to
    work out, no RETURNING) runs straight through the driver's cursor,
    inside the connection's transaction, its values converted as their types
    say (dates, enums, JSON), exactly as `connection.execute` would.

    Anything else goes through `connection.execute`: another database, a
    connection not in a transaction (execute begins one), and one whose
    statements something listens to (tests, tracing), so that every
    statement is seen. Build the statement once, where the module is loaded."""
    keys = tuple(params)
    plan = _plan(connection, statement, keys, _plan_write)
    if plan is None:
        result = connection.execute(statement, params)
        return tuple(result.inserted_primary_key) if isinstance(statement, Insert) else None
    cursor = _run(connection, plan, params)
    try:
        if plan.key is None:
            return None
        given = params.get(plan.key)
        return (cursor.lastrowid if given is None else given,)
    finally:
        cursor.close()


def select_plain(connection: Connection, statement: Select, params: dict) -> list[tuple]:
    """The rows of a SELECT, run as write_plain runs a write, with values
    converted both ways as the columns' types say. The rows are named tuples
    of the columns' keys, as SQLAlchemy's own rows are where it runs the
    statement."""
    plan = _plan(connection, statement, None, _plan_select)
    if plan is None:
        return connection.execute(statement, params).all()
    cursor = _run(connection, plan, params)
    try:
        found = cursor.fetchall()
    finally:
        cursor.close()
    results, row = plan.results, plan.row
    if not any(results):
        return [row(*values) for values in found]
    return [row(*(value if result is None else result(value) for value, result in zip(values, results)))
            for values in found]


def run_plain(connection: Connection, sql: str) -> None:
    """Run one statement without parameters (a SAVEPOINT, say) through the
    driver, as write_plain does; `exec_driver_sql` costs ten times more."""
    if not _direct(connection):
        connection.exec_driver_sql(sql)
        return
    _run(connection, _Plain(sql, (), ()), {}).close()


def _plan(connection: Connection, statement: Executable, keys: tuple[str, ...] | None,
          make: Callable[[Connection, Executable, tuple[str, ...] | None], _Plain | None]) -> _Plain | None:
    """The statement's plan, or None where connection.execute is to run it."""
    shape = (statement, connection.dialect.name, keys)
    plan = _plans.get(shape, False)
    if plan is False:
        if len(_plans) >= _PLANS_KEPT:
            _plans.clear()  # statements built anew for each call: compiling them is all there is to save
        plan = _plans[shape] = make(connection, statement, keys) if connection.dialect.name == "sqlite" else None
    return plan if plan is not None and _direct(connection) else None


def _run(connection: Connection, plan: _Plain, params: dict):
    values = [params[name] if processor is None else processor(params[name])
              for name, processor in zip(plan.names, plan.processors)]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(plan.sql, values)
    except BaseException:
        cursor.close()
        raise
    return cursor


def _direct(connection: Connection) -> bool:
    """Whether a statement may go straight to the driver on this connection:
    SQLite, inside a transaction (execute would begin one), and nothing
    listening to the statements run (the cursor events, which tests and
    tracing use; checking them costs a few us)."""
    if connection.dialect.name != "sqlite" or not connection.in_transaction():
        return False
    dispatch = connection.dispatch
    return not (dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _compile(connection: Connection, statement: Executable, keys: tuple[str, ...] | None):
    """The statement compiled for the driver and its parameters' conversions,
    or None if running it needs more than its SQL and values."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
    if (compiled.positiontup is None or compiled.insert_prefetch or compiled.update_prefetch
            or getattr(compiled, "postfetch", None) or compiled.returning or compiled.literal_execute_params
            or (keys is not None and set(compiled.positiontup) - set(keys))
            or any(compiled.binds[name].expanding for name in compiled.positiontup)):
        return None
    processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                       for name in compiled.positiontup)
    return compiled, processors


def _plan_write(connection: Connection, statement: Executable, keys: tuple[str, ...]) -> _Plain | None:
    made = _compile(connection, statement, keys)
    if made is None:
        return None
    compiled, processors = made
    key = None
    if isinstance(statement, Insert):
        primary = list(statement.table.primary_key)
        if len(primary) != 1 or primary[0].type.python_type is not int:
            return None
        key = primary[0].key
    return _Plain(compiled.string, tuple(compiled.positiontup), processors, key)


def _plan_select(connection: Connection, statement: Select, _keys: None) -> _Plain | None:
    keys = list(statement.selected_columns.keys())
    made = _compile(connection, statement, None) if len(set(keys)) == len(keys) else None
    if made is None:
        return None
    compiled, processors = made
    dialect = connection.dialect
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in statement.selected_columns)
    return _Plain(compiled.string, tuple(compiled.positiontup), processors, results=results,
                  row=collections.namedtuple("Row", keys, rename=True))
