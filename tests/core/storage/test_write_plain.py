"""core.storage.fast.write_plain, select_plain and run_plain: statements straight
through the driver on SQLite and PostgreSQL, with the same rows as connection.execute
would write and read, and through connection.execute whenever that is
needed."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, event, exc, insert, select, update

from core.models import Outbox, OutboxStatus
from core.storage import fast
from core.storage.fast import run_plain, select_plain, write_plain

OUTBOX = Outbox.__table__
_INSERT = insert(OUTBOX)
_WHEN = datetime(2026, 12, 3, 14, 5, 6, 789000, tzinfo=timezone.utc)


def _row(message_id: str) -> dict:
    """Every column but the key: a date, an enum, a boolean, JSON text and NULLs."""
    return {"created_at": _WHEN, "ticket_id": None, "template": "ack", "context": '{"ref": "HD-1"}',
            "language": "id", "to_address": "a@sekolah.test", "message_id": message_id, "in_reply_to": None,
            "references": None, "automatic": False, "status": OutboxStatus.suppressed, "attempts": 2,
            "next_attempt_at": _WHEN, "locked_until": None, "last_error": None, "sent_at": None,
            "bounced_at": None, "bounce_reason": "x"}


def _stored(connection, key: int) -> dict:
    """The row as read back, but for its key and Message-ID."""
    row = connection.execute(select(OUTBOX).where(OUTBOX.c.id == key)).one()._asdict()
    del row["id"], row["message_id"]
    return row


def test_an_insert_writes_what_execute_writes_and_gives_its_key(database):
    with database.engine.begin() as connection:
        (plain,) = write_plain(connection, _INSERT, _row("<plain@helpdesk.test>"))
        (usual,) = connection.execute(_INSERT, _row("<usual@helpdesk.test>")).inserted_primary_key
        stored_plain, stored_usual = _stored(connection, plain), _stored(connection, usual)
    assert plain != usual and stored_plain == stored_usual
    assert stored_plain["created_at"] == _WHEN and stored_plain["status"] is OutboxStatus.suppressed
    assert stored_plain["automatic"] is False and stored_plain["context"] == '{"ref": "HD-1"}'


def test_an_update_sets_its_columns(database):
    statement = update(OUTBOX).where(OUTBOX.c.id == 0).values(status=OutboxStatus.sent, sent_at=_WHEN)
    with database.engine.begin() as connection:
        (key,) = write_plain(connection, _INSERT, _row("<update@helpdesk.test>"))
        changed = update(OUTBOX).where(OUTBOX.c.id == key).values(status=OutboxStatus.sent, sent_at=_WHEN)
        assert write_plain(connection, changed, {}) is None
        assert write_plain(connection, statement, {}) is None  # no such row: nothing happens
        status, sent_at = connection.execute(select(OUTBOX.c.status, OUTBOX.c.sent_at).where(OUTBOX.c.id == key)).one()
    assert (status, sent_at) == (OutboxStatus.sent, _WHEN)


def test_columns_left_to_their_defaults_are_filled_as_execute_fills_them(database):
    with database.engine.begin() as connection:
        (key,) = write_plain(connection, _INSERT, {"template": "ack", "to_address": "a@sekolah.test",
                                                   "message_id": "<defaults@helpdesk.test>"})
        row = connection.execute(select(OUTBOX).where(OUTBOX.c.id == key)).one()
    assert (row.status, row.attempts, row.automatic, row.context) == (OutboxStatus.pending, 0, True, "{}")
    assert row.created_at is not None and row.next_attempt_at is not None


def test_the_driver_takes_a_fully_given_write(database):
    with database.engine.begin() as connection:
        write_plain(connection, _INSERT, _row("<shape@helpdesk.test>"))
        write_plain(connection, _INSERT, {"template": "ack", "to_address": "a@sekolah.test",
                                          "message_id": "<shape-2@helpdesk.test>"})
    plans = {keys: plan for (statement, _, keys), plan in fast._statement_plans.items() if statement is _INSERT}
    full, short = plans[tuple(_row("x"))], plans[("template", "to_address", "message_id")]
    assert short is None  # defaults to work out: SQLAlchemy writes it
    assert full is not None


def test_a_connection_outside_a_transaction_begins_one(database):
    """The driver's own connection commits each statement by itself (SQLite
    in autocommit): taken straight there, this row would stay."""
    with database.engine.connect() as connection:
        write_plain(connection, _INSERT, _row("<begun@helpdesk.test>"))
        assert connection.in_transaction()
        connection.rollback()
    with database.engine.connect() as connection:
        found = connection.execute(select(OUTBOX.c.id).where(OUTBOX.c.message_id == "<begun@helpdesk.test>"))
        assert found.first() is None


def test_a_listener_sees_every_statement(database):
    seen = []
    with database.engine.begin() as connection:
        event.listen(connection, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: seen.append(statement.split()[0]))
        write_plain(connection, _INSERT, _row("<seen@helpdesk.test>"))
        run_plain(connection, "SAVEPOINT seen")
    assert seen == ["INSERT", "SAVEPOINT"]


def test_a_savepoint_run_plain_takes_back_what_was_written_after_it(database):
    with database.engine.begin() as connection:
        (kept,) = write_plain(connection, _INSERT, _row("<kept@helpdesk.test>"))
        run_plain(connection, "SAVEPOINT plain")
        write_plain(connection, _INSERT, _row("<taken-back@helpdesk.test>"))
        run_plain(connection, "ROLLBACK TO SAVEPOINT plain")
        run_plain(connection, "RELEASE SAVEPOINT plain")
    with database.engine.connect() as connection:
        ids = connection.execute(select(OUTBOX.c.message_id)).scalars().all()
    assert ids == ["<kept@helpdesk.test>"] and kept


_BY_ADDRESS = select(OUTBOX.c.id, OUTBOX.c.created_at, OUTBOX.c.status, OUTBOX.c.automatic, OUTBOX.c.sent_at) \
    .where(OUTBOX.c.to_address == bindparam("to"), OUTBOX.c.next_attempt_at <= bindparam("due")) \
    .order_by(OUTBOX.c.id)


def test_a_select_reads_what_execute_reads_in_named_rows(database):
    with database.engine.begin() as connection:
        (key,) = write_plain(connection, _INSERT, _row("<read@helpdesk.test>"))
        params = {"to": "a@sekolah.test", "due": _WHEN}
        plain, usual = select_plain(connection, _BY_ADDRESS, params), connection.execute(_BY_ADDRESS, params).all()
        assert select_plain(connection, _BY_ADDRESS, {"to": "b@sekolah.test", "due": _WHEN}) == []
    assert [tuple(row) for row in plain] == [tuple(row) for row in usual] == [
        (key, _WHEN, OutboxStatus.suppressed, False, None)]
    assert (plain[0].id, plain[0].status, plain[0].created_at) == (key, OutboxStatus.suppressed, _WHEN)


def test_a_watched_select_is_seen(database):
    seen = []
    with database.engine.begin() as connection:
        event.listen(connection, "before_cursor_execute",
                     lambda conn, cursor, statement, *args: seen.append(statement.split()[0]))
        assert select_plain(connection, _BY_ADDRESS, {"to": "a@sekolah.test", "due": _WHEN}) == []
    assert seen == ["SELECT"]


def test_the_drivers_errors_come_as_executes_do(database):
    """Callers, and is_transient, know SQLAlchemy's errors, not each driver's."""
    with database.engine.begin() as connection:
        (key,) = write_plain(connection, _INSERT, _row("<first@helpdesk.test>"))
        with pytest.raises(exc.IntegrityError):
            write_plain(connection, _INSERT, {"id": key, **_row("<again@helpdesk.test>")})
        connection.rollback()
