"""The speed layer of the mail path, behind one seam: the domain calls these
functions in plain terms and never touches SQLAlchemy's internals itself.
docs/PERFORMANCE.md lists each trick, the figure that justified it, and how
to take it out (each function here has a plain-ORM equivalent).

- Statements straight through the driver: write_plain, select_plain, run_plain.
- Fewer round trips on PostgreSQL (psycopg's pipeline mode): write_soon, a
  write sent with the next statement; select_plain_many, reads sent
  together; read_ahead, a later step's reads sent with an earlier one's;
  next_keys, keys reserved so that INSERTs need not wait.
- ORM objects written outside the unit of work: new, insert_now, update_now.
- Values put on a loaded object without marking it changed: set_loaded.
- An object from a row read elsewhere, as if the session had loaded it:
  as_loaded (the API's guard reads its caller's row for every request).
- A savepoint the session does not track, and forgetting what a rollback
  took back: savepoint, forget.

Writing ORM objects with plain INSERTs and UPDATEs, outside the unit of work:
a flush works out the order of a whole graph of objects every time; for the
few rows every inbound mail adds (ticket, message, attachments, outbox row)
that bookkeeping costs more than the rows. `insert_now` writes the new
objects it is given, and the new objects they lead to, each with one INSERT
built once per table, parents before children; then it puts them in the
session as if they had been loaded, so the rest of the code uses them as
usual and nothing is written twice. `new` makes such objects without the
attribute events of the constructor. `update_now` does the same for a few
columns of an object already in the database.
"""
from __future__ import annotations

import collections
import contextlib
import weakref
from typing import Callable, Iterator, NamedTuple

from sqlalchemy import (
    Connection, Engine, Executable, Insert, Select, Table, Update, bindparam, event, exc, insert, inspect,
    literal_column, select, update,
)
from sqlalchemy.orm import Mapper, RelationshipProperty, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY


_updates: dict[tuple[Table, tuple[str, ...]], Update] = {}


def insert_now(session: Session, *objects: object) -> None:
    """INSERT these new objects (and the new ones they refer to or hold) now,
    and make them persistent in `session`. Columns left unset take their
    Python-side default, so no attribute is left to load later."""
    if session.new:
        session.flush()  # a pending parent must not be written twice
    conn = session.connection()
    written: list[object] = []
    seen: set[int] = set()
    for obj in objects:
        _write(conn, obj, seen, written)
    for obj in written:
        make_transient_to_detached(obj)
    for obj in written:
        session.add(obj)


def new(cls: type, **values) -> object:
    """A new object of a mapped class for insert_now, its column values put
    straight into its dict. The declarative constructor fires an attribute
    event for each value (88 us for a Message, against 4), all of which
    insert_now undoes at once. Relationships are set as usual, so that
    collections and backrefs behave; an unknown name is a TypeError, as it
    is for the constructor."""
    mapper = inspect(cls)
    plan = _plan(mapper)
    obj = mapper.class_manager.new_instance()
    state_dict = obj.__dict__
    for key, value in values.items():
        if key in plan.attributes:
            state_dict[key] = value
        elif key in plan.relationships:
            setattr(obj, key, value)
        else:
            raise TypeError(f"{key!r} is an invalid keyword argument for {cls.__name__}")
    return obj


class _Plan(NamedTuple):
    """What writing one mapper's objects needs, worked out once per mapper."""
    insert: Insert
    columns: tuple[tuple[str, str, bool, Callable[[], object]], ...]  # attribute, column, primary key, default
    parents: tuple[RelationshipProperty, ...]
    children: tuple[RelationshipProperty, ...]
    key_attributes: tuple[str, ...]
    attributes: frozenset[str]  # the column attributes' names
    relationships: frozenset[str]


_plans: dict[Mapper, _Plan] = {}


def _plan(mapper: Mapper) -> _Plan:
    plan = _plans.get(mapper)
    if plan is None:
        columns = []
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            default = column.default
            value = (lambda: None) if default is None else (
                (lambda arg=default.arg: arg(None)) if default.is_callable else (lambda arg=default.arg: arg))
            columns.append((prop.key, column.key, column.primary_key, value))
        plan = _plans[mapper] = _Plan(
            insert(mapper.local_table), tuple(columns),
            tuple(rel for rel in mapper.relationships if rel.direction is MANYTOONE),
            tuple(rel for rel in mapper.relationships if rel.direction is ONETOMANY),
            tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key),
            frozenset(prop.key for prop in mapper.column_attrs), frozenset(mapper.relationships.keys()))
    return plan


def _write(conn: Connection, obj: object, seen: set[int], written: list[object]) -> None:
    # Values go straight into the object's dict: it is new, and once written
    # every value in it is marked as loaded (make_transient_to_detached), so
    # the attribute events a setattr fires would only be undone.
    state = inspect(obj)
    if state.key is not None or id(obj) in seen:
        return
    seen.add(id(obj))
    mapper, values = state.mapper, state.dict
    plan = _plan(mapper)
    for rel in plan.parents:  # what it refers to comes first
        if rel.key in values:
            parent = values[rel.key]
            if parent is not None:
                _write(conn, parent, seen, written)
            for local, remote in rel.local_remote_pairs:
                value = None if parent is None else getattr(parent, rel.mapper.get_property_by_column(remote).key)
                values[mapper.get_property_by_column(local).key] = value
    row = {}
    for attribute, column, primary_key, default in plan.columns:
        if primary_key and values.get(attribute) is None:
            values.pop(attribute, None)  # none reserved: the INSERT gives it
            continue
        if attribute not in values:
            values[attribute] = default()
        row[column] = values[attribute]
    if all(values.get(attribute) is not None for attribute in plan.key_attributes):
        write_soon(conn, plan.insert, row)  # its key given (next_keys): nothing to wait for
    else:
        key = write_plain(conn, plan.insert, row)
        for attribute, value in zip(plan.key_attributes, key):
            values[attribute] = value
    written.append(obj)
    for rel in plan.children:  # then what it holds
        if rel.key in values:
            for child in values[rel.key] or ():
                if inspect(child).key is not None or id(child) in seen:
                    continue
                for local, remote in rel.local_remote_pairs:
                    setattr(child, rel.mapper.get_property_by_column(remote).key,
                            getattr(obj, mapper.get_property_by_column(local).key))
                _write(conn, child, seen, written)


def update_now(session: Session, obj: object, **values) -> None:
    """Set these columns of an object already in the database by one plain
    UPDATE now, and show them on the object as if read back: it is not left
    changed, so no flush has to work out what to write. (For a Ticket, with
    its many relationships, that flush cost more than the UPDATE.)"""
    state = inspect(obj)
    mapper = state.mapper
    columns = {mapper.get_property(key).columns[0].key: value for key, value in values.items()}
    shape = (mapper.local_table, tuple(sorted(columns)))
    statement = _updates.get(shape)
    if statement is None:
        table, (key_column,) = mapper.local_table, mapper.primary_key
        statement = _updates[shape] = update(table).where(key_column == bindparam("key_")).values(
            {name: bindparam(f"{name}_") for name in shape[1]})
    write_soon(session.connection(), statement, {"key_": state.identity[0],
                                                 **{f"{name}_": value for name, value in columns.items()}})
    for key, value in values.items():
        set_committed_value(obj, key, value)


def set_loaded(obj: object, **values) -> None:
    """Put values on an object as if they had been loaded from the database,
    for columns a plain statement has written already: the session will not
    write them again, and no attribute event fires."""
    for key, value in values.items():
        set_committed_value(obj, key, value)


def columns_of(cls: type) -> tuple:
    """The columns of a mapped class's attributes, in the order as_loaded takes their values."""
    return tuple(prop.columns[0] for prop in inspect(cls).column_attrs)


# Each mapper's attributes and their columns' conversions, per dialect (as_loaded).
_loaders: dict[tuple[Mapper, str], tuple[tuple[str, Callable[[object], object] | None], ...]] = {}


def as_loaded(session: Session, cls: type, values: tuple) -> object:
    """An object of a mapped class from its row as the driver gave it, read
    outside the session (`values` in the order of columns_of(cls), say by
    Database.read_plain), put in the session as if the session had loaded
    it: no query. The values are converted as a load converts them (an
    enum's text, SQLite's dates). The session's own object where it holds
    that row already. Its relationships load as usual when read; to have
    one without a query, put the related object on it with set_loaded (the
    session holds its objects weakly: one nothing refers to is gone at once)."""
    mapper = inspect(cls)
    dialect = session.get_bind().dialect
    loader = _loaders.get((mapper, dialect.name))
    if loader is None:
        loader = _loaders[(mapper, dialect.name)] = tuple(
            (prop.key, _result_processor(prop.columns[0], dialect)) for prop in mapper.column_attrs)
    converted = {key: value if convert is None or value is None else convert(value)
                 for (key, convert), value in zip(loader, values)}
    identity = mapper.identity_key_from_primary_key([converted[key] for key in _plan(mapper).key_attributes])
    held = session.identity_map.get(identity)
    if held is not None:
        return held
    obj = new(cls, **converted)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def forget(session: Session) -> None:
    """Drop every object from the session after a rollback. Objects insert_now
    wrote stay in the session when their transaction or savepoint is rolled
    back, and SQLite hands their ids out again: the next row would clash."""
    session.expunge_all()


@contextlib.contextmanager
def savepoint(session: Session, rolls_back: type[BaseException]) -> Iterator[None]:
    """A SAVEPOINT issued past the session: begin_nested() snapshots and
    restores the session's state around it, at a twentieth of a writer's CPU
    per mail. The session is flushed first, so that what was pending before is
    outside the savepoint. An exception of type `rolls_back` rolls back to it
    (and the session forgets its objects, which may hold what was taken back);
    any other leaves the savepoint to the caller's rollback."""
    session.flush()
    connection = session.connection()
    run_plain(connection, "SAVEPOINT fast")
    try:
        yield
    except rolls_back:
        run_plain(connection, "ROLLBACK TO SAVEPOINT fast")
        run_plain(connection, "RELEASE SAVEPOINT fast")
        forget(session)
        raise
    run_plain(connection, "RELEASE SAVEPOINT fast")


# Statements the mail path and the intake run straight through the driver
# (write_plain, select_plain, run_plain). SQLAlchemy spends about 90 us of
# Python on a statement the driver runs in 10 us, and the one process that
# writes for every mail server process (mailin.writer) runs about fifteen per
# mail; a ticket opened through the API on PostgreSQL, about ten.


class _Plain(NamedTuple):
    """A statement compiled for the driver, with what its values need."""
    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them (SQLite) or by name (PostgreSQL)
    processors: tuple[Callable[[object], object] | None, ...]  # each type's conversion for the driver
    key: str | None = None  # an INSERT's integer primary key column, which the row id (or RETURNING) gives
    results: tuple[Callable[[object], object] | None, ...] = ()  # a SELECT's columns' conversions back
    row: type | None = None  # a SELECT's rows: named tuples of the columns' keys
    named: bool = False  # the driver takes the values as a dict (psycopg's %(name)s)
    returns_key: bool = False  # an INSERT ... RETURNING its key (PostgreSQL has no last row id)


# The databases whose driver the plain statements go straight to: SQLite
# (sqlite3) and PostgreSQL (psycopg). Any other runs them through execute.
_DIRECT = ("sqlite", "postgresql")


# Each statement (and set of parameter names) is compiled once and kept, up to a bound.
_statement_plans: dict[tuple, _Plain | None] = {}
_STATEMENT_PLANS_KEPT = 500


def write_plain(connection: Connection, statement: Insert | Executable, params: dict) -> tuple | None:
    """Run an INSERT or UPDATE that is given every value; an INSERT returns
    its primary key, as `inserted_primary_key` does. On SQLite and
    PostgreSQL, a statement that needs nothing of SQLAlchemy's execution (no
    default or onupdate to work out, no RETURNING but the key's on
    PostgreSQL) runs straight through the driver's cursor,
    inside the connection's transaction, its values converted as their types
    say (dates, enums, JSON), exactly as `connection.execute` would.

    Anything else goes through `connection.execute`: another database, a
    connection not in a transaction (execute begins one), and one whose
    statements something listens to (tests, tracing), so that every
    statement is seen. Build the statement once, where the module is loaded."""
    keys = tuple(params)
    plan = _statement_plan(connection, statement, keys, _plan_write)
    if plan is None:
        result = connection.execute(statement, params)
        return tuple(result.inserted_primary_key) if isinstance(statement, Insert) else None
    cursor = _run(connection, plan, params)
    try:
        if plan.key is None:
            return None
        given = params.get(plan.key)
        if given is not None:
            return (given,)
        return (cursor.fetchone()[0] if plan.returns_key else cursor.lastrowid,)
    finally:
        cursor.close()


def select_plain(connection: Connection, statement: Select, params: dict) -> list[tuple]:
    """The rows of a SELECT, run as write_plain runs a write, with values
    converted both ways as the columns' types say. The rows are named tuples
    of the columns' keys, as SQLAlchemy's own rows are where it runs the
    statement."""
    plan = _statement_plan(connection, statement, None, _plan_select)
    if plan is None:
        return connection.execute(statement, params).all()
    cursor = _run(connection, plan, params)
    try:
        return _rows(plan, cursor.fetchall())
    finally:
        cursor.close()


def _rows(plan: _Plain, found: list[tuple]) -> list[tuple]:
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


def _statement_plan(connection: Connection, statement: Executable, keys: tuple[str, ...] | None,
          make: Callable[[Connection, Executable, tuple[str, ...] | None], _Plain | None]) -> _Plain | None:
    """The statement's plan, or None where connection.execute is to run it."""
    shape = (statement, connection.dialect.name, keys)
    plan = _statement_plans.get(shape, False)
    if plan is False:
        if len(_statement_plans) >= _STATEMENT_PLANS_KEPT:
            _statement_plans.clear()  # statements built anew for each call: compiling them is all there is to save
        plan = _statement_plans[shape] = make(connection, statement, keys) if connection.dialect.name in _DIRECT \
            else None
    return plan if plan is not None and _direct(connection) else None


def _run(connection: Connection, plan: _Plain, params: dict):
    values = _values(plan, params)
    cursor = connection.connection.cursor()
    try:
        soon = connection.connection.info.pop(_SOON, None)
        if soon:
            _send(connection.connection.dbapi_connection, soon, [(cursor, plan.sql, values)])
        else:
            cursor.execute(plan.sql, values)
    except connection.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise _as_execute_raises(connection, plan.sql, values, error) from error
    except BaseException:
        cursor.close()
        raise
    return cursor


def _values(plan: _Plain, params: dict) -> list | dict:
    """The statement's values as the driver takes them."""
    values = [params[name] if processor is None else processor(params[name])
              for name, processor in zip(plan.names, plan.processors)]
    return dict(zip(plan.names, values)) if plan.named else values


def _as_execute_raises(connection: Connection, sql: str, values, error: Exception) -> exc.DBAPIError:
    """The driver's error as connection.execute raises it: callers (and
    core.storage.db.is_transient, which tells a locked or lost database from
    a bug) know SQLAlchemy's classes, not each driver's. A lost connection is
    invalidated, as execute does, so the pool does not hand it out again."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
    if lost:
        connection.invalidate(error)
    return exc.DBAPIError.instance(sql, values, error, dialect.loaded_dbapi.Error, connection_invalidated=lost,
                                   dialect=dialect)


def _direct(connection: Connection) -> bool:
    """Whether a statement may go straight to the driver on this connection:
    SQLite or PostgreSQL, inside a transaction (execute would begin one), and
    nothing listening to the statements run (the cursor events, which tests
    and tracing use; checking them costs a few us)."""
    if connection.dialect.name not in _DIRECT or not connection.in_transaction():
        return False
    dispatch = connection.dispatch
    return not (dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _compile(connection: Connection, statement: Executable, keys: tuple[str, ...] | None, *,
             returning: bool = False):
    """The statement compiled for the driver, its parameters' names and their
    conversions, or None if running it needs more than its SQL and values
    (`returning`: the RETURNING clause is ours, the key of an INSERT)."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=None if keys is None else list(keys))
    names = compiled.positiontup if dialect.positional else tuple(compiled.binds)
    if (names is None or compiled.insert_prefetch or compiled.update_prefetch
            or getattr(compiled, "postfetch", None) or (compiled.returning and not returning)
            or compiled.literal_execute_params or getattr(compiled, "escaped_bind_names", None)
            or (keys is not None and set(names) - set(keys))
            or any(compiled.binds[name].expanding for name in names)):
        return None
    processors = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    return compiled, tuple(names), processors


def _plan_write(connection: Connection, statement: Executable, keys: tuple[str, ...]) -> _Plain | None:
    key = None
    returns_key = False
    if isinstance(statement, Insert):
        primary = list(statement.table.primary_key)
        if len(primary) != 1 or primary[0].type.python_type is not int:
            return None
        key = primary[0].key
        returns_key = connection.dialect.name != "sqlite"  # PostgreSQL gives no last row id
        if returns_key:
            statement = statement.returning(primary[0])
    made = _compile(connection, statement, keys, returning=returns_key)
    if made is None:
        return None
    compiled, names, processors = made
    return _Plain(compiled.string, names, processors, key, named=not connection.dialect.positional,
                  returns_key=returns_key)


def _result_processor(column, dialect) -> Callable[[object], object] | None:
    """How a value of this column comes from the driver to Python, as a load converts it (None: as it is)."""
    return column.type.dialect_impl(dialect).result_processor(dialect, None)


def _plan_select(connection: Connection, statement: Select, _keys: None) -> _Plain | None:
    keys = list(statement.selected_columns.keys())
    made = _compile(connection, statement, None) if len(set(keys)) == len(keys) else None
    if made is None:
        return None
    compiled, names, processors = made
    dialect = connection.dialect
    results = tuple(_result_processor(column, dialect) for column in statement.selected_columns)
    return _Plain(compiled.string, names, processors, results=results,
                  row=collections.namedtuple("Row", keys, rename=True), named=not dialect.positional)


# Writes sent with the next statement (write_soon). On PostgreSQL each
# statement is a round trip, and a round trip on a loaded machine waits for
# the database's process and then for this one to be scheduled again: an
# audit event, a rate-limit hit or an UPDATE by key that nothing reads the
# outcome of need not be one of their own. They wait on the DB-API
# connection (its `info`, which belongs to that connection alone) and go out
# in psycopg's pipeline mode together with the next statement: one of ours
# (_run), any that SQLAlchemy runs (before_execute), or the COMMIT.
_SOON = "helpdesk_soon"
_watched: weakref.WeakSet = weakref.WeakSet()  # the pools whose engine sends what waits (watch)


def watch(engine: Engine) -> None:
    """Make write_soon wait on this engine's connections (PostgreSQL with a
    driver that has pipeline mode; elsewhere it writes at once): what waits is
    sent before anything else the connection runs and before its COMMIT, and
    dropped on ROLLBACK. core.storage.db.make_engine calls this for every
    engine. Connection.exec_driver_sql passes no event: nothing with writes
    waiting may use it."""
    if not pipelines(engine) or engine.pool in _watched:
        return
    _watched.add(engine.pool)
    event.listen(engine, "before_execute", _send_before)
    event.listen(engine, "commit", _commit_with_waiting)
    event.listen(engine, "rollback", _drop_waiting)
    event.listen(engine.pool, "checkin", lambda dbapi_connection, record: (record.info.pop(_SOON, None),
                                                                             _drop_ahead(record.info)))


def pipelines(engine: Engine) -> bool:
    """Whether the engine's driver can send several statements in one round
    trip (psycopg's pipeline mode, on PostgreSQL)."""
    pipeline = getattr(engine.dialect.loaded_dbapi, "Pipeline", None)
    return engine.dialect.name == "postgresql" and pipeline is not None and pipeline.is_supported()


def write_soon(connection: Connection, statement: Insert | Executable, params: dict) -> None:
    """write_plain for a write nothing waits on (no key wanted back): on an
    engine watch()ed, it goes out with the next statement the connection
    runs, in the same round trip; elsewhere (SQLite) it is written at once.
    The statements reach the database in the order they were run, so what
    runs next sees the write. An error the write meets (a broken constraint)
    is raised by that next statement, or by the commit, as execute raises it:
    use it only for writes whose failure fails the transaction anyway."""
    plan = _statement_plan(connection, statement, tuple(params), _plan_write)
    if plan is None or connection.engine.pool not in _watched:
        write_plain(connection, statement, params)
        return
    connection.connection.info.setdefault(_SOON, []).append((plan.sql, _values(plan, params)))


def _send(dbapi_connection, soon: list[tuple[str, object]], statements: list[tuple] = (), *,
          commit: bool = False) -> None:
    """Send the waiting writes, then each (cursor, sql, values) of
    `statements`, then the COMMIT if asked, in one pipeline: one round trip;
    leaving the pipeline waits for every result and raises the first error.
    The COMMIT is a statement of the pipeline, not the driver's commit(),
    which waits for its own answer before the pipeline's end asks again: a
    second round trip with nothing in it. (A write that fails makes the
    server skip the COMMIT; the transaction is left failed, as before, and
    the caller's rollback ends it.)"""
    writer = dbapi_connection.cursor()
    try:
        with dbapi_connection.pipeline():
            for waiting_sql, waiting_values in soon:
                writer.execute(waiting_sql, waiting_values)
            for cursor, sql, values in statements:
                cursor.execute(sql, values)
            if commit:
                writer.execute("COMMIT")
    finally:
        writer.close()


def _send_waiting(connection: Connection, *, commit: bool = False) -> None:
    soon = connection.connection.info.pop(_SOON, None)
    if not soon:
        return
    try:
        _send(connection.connection.dbapi_connection, soon, commit=commit)
    except connection.dialect.loaded_dbapi.Error as error:
        sql, values = soon[0]
        raise _as_execute_raises(connection, sql, values, error) from error


def _send_before(connection: Connection, *_statement_and_params) -> None:
    _send_waiting(connection)


def _commit_with_waiting(connection: Connection) -> None:
    # The COMMIT rides in the writes' pipeline; the driver's own commit()
    # that SQLAlchemy calls next finds no transaction and sends nothing.
    _drop_ahead(connection.connection.info)
    _send_waiting(connection, commit=True)


def _drop_waiting(connection: Connection) -> None:
    if not connection.invalidated:
        connection.connection.info.pop(_SOON, None)
        _drop_ahead(connection.connection.info)


def select_plain_many(connection: Connection, reads: list[tuple[Select, dict]]) -> list[list[tuple]]:
    """select_plain of several SELECTs that do not depend on each other: on
    an engine watch()ed, sent together (after any writes waiting) in one
    round trip, with any reads asked ahead (read_ahead); a read whose rows
    were kept from such a read is answered with them, not sent again.
    Elsewhere one by one."""
    plans = [_statement_plan(connection, statement, None, _plan_select) for statement, _ in reads]
    if connection.engine.pool not in _watched or None in plans:
        return [select_plain(connection, statement, params) for statement, params in reads]
    info = connection.connection.info
    kept = info.get(_KEPT) or {}
    answers = [kept.pop(_ahead_key(statement, params), None) for statement, params in reads]
    wanted = [(plan, params) for plan, (_, params), answer in zip(plans, reads, answers) if answer is None]
    ahead = info.pop(_AHEAD, None) or []
    dbapi_connection = connection.connection.dbapi_connection
    sent = wanted + [(plan, params) for _, plan, params in ahead]
    statements = [(dbapi_connection.cursor(), plan.sql, _values(plan, params)) for plan, params in sent]
    try:
        if statements:
            _send(dbapi_connection, info.pop(_SOON, None) or [], statements)
        fetched = iter([_rows(plan, cursor.fetchall()) for (plan, _), (cursor, _, _) in zip(sent, statements)])
        answers = [answer if answer is not None else next(fetched) for answer in answers]
        for key, _, _ in ahead:
            info.setdefault(_KEPT, {})[key] = next(fetched)
        return answers
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_execute_raises(connection, statements[0][1], statements[0][2], error) from error
    finally:
        for cursor, _, _ in statements:
            cursor.close()


# Reads asked ahead (read_ahead): SELECTs a later step will make, sent now
# with the next select_plain_many, so that the later step's round trip is
# not needed. Their rows wait on the DB-API connection until asked for, and
# are dropped at the transaction's end, whether asked for or not.
_AHEAD, _KEPT = "helpdesk_ahead", "helpdesk_kept"


def read_ahead(connection: Connection, reads: list[tuple[Select, dict]]) -> None:
    """Send these SELECTs with the next select_plain_many on this connection,
    and keep their rows for the select_plain_many that asks the same
    statement with the same values (it is then answered without a round
    trip). For reads whose answer may be a few statements old: they see the
    database as it was when sent. On an engine not watch()ed, nothing: the
    later read runs as usual."""
    if connection.engine.pool not in _watched:
        return
    for statement, params in reads:
        plan = _statement_plan(connection, statement, None, _plan_select)
        if plan is not None:
            connection.connection.info.setdefault(_AHEAD, []).append((_ahead_key(statement, params), plan, params))


def _ahead_key(statement: Select, params: dict) -> tuple:
    return statement, tuple(sorted(params.items()))


def _drop_ahead(info: dict) -> None:
    info.pop(_AHEAD, None)
    info.pop(_KEPT, None)


# Keys given before the INSERT (PostgreSQL): an INSERT that must return its
# key is a round trip of its own, and what refers to its row waits for it.
_next_keys: dict[tuple[type, ...], Select] = {}


def next_keys(connection: Connection, *classes: type) -> Select | None:
    """A SELECT of the next key of each class's table, from its sequence, on
    an engine watch()ed; None elsewhere (SQLite: the INSERT gives the key).
    Objects made with their key (`new(cls, id=...)`) are written by
    insert_now without waiting (write_soon)."""
    if connection.engine.pool not in _watched:
        return None
    statement = _next_keys.get(classes)
    if statement is None:
        columns = []
        for number, cls in enumerate(classes):
            (key,) = inspect(cls).local_table.primary_key
            # Our own table and column names, written into the SQL: a bound value would be a parameter to pass.
            columns.append(literal_column(f"nextval(pg_get_serial_sequence('{key.table.name}', '{key.name}'))")
                           .label(f"key{number}"))
        statement = _next_keys[classes] = select(*columns)
    return statement
