"""Writing ORM objects with plain INSERTs and UPDATEs, outside the unit of work.

A flush works out the order of a whole graph of objects every time; for the
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

from typing import Callable, NamedTuple

from sqlalchemy import Connection, Insert, Table, Update, bindparam, insert, inspect, update
from sqlalchemy.orm import Mapper, RelationshipProperty, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import MANYTOONE, ONETOMANY

from core.storage.db import write_plain

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
        if attribute not in values:
            if primary_key:
                continue
            values[attribute] = default()
        row[column] = values[attribute]
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
    write_plain(session.connection(), statement, {"key_": state.identity[0],
                                                  **{f"{name}_": value for name, value in columns.items()}})
    for key, value in values.items():
        set_committed_value(obj, key, value)
