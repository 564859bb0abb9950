"""core.storage.fast.write_soon, select_plain_many and next_keys, and
Database.read_plain_many: on PostgreSQL writes wait to go out with the next
statement and independent reads go out together, in one round trip; on
SQLite each runs at once. Either way what runs next sees what was written,
a commit keeps it, a rollback drops it, and an error comes as execute's."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, exc, insert, select

from core.config.policy import read_policy, read_policy_beside
from core.models import Message, Outbox, OutboxStatus, Ticket
from core.storage import fast
from core.storage.fast import next_keys, select_plain, select_plain_many, write_soon

OUTBOX = Outbox.__table__
_INSERT = insert(OUTBOX)
_WHEN = datetime(2026, 12, 6, 16, 40, tzinfo=timezone.utc)
_BY_MESSAGE_ID = select(OUTBOX.c.id, OUTBOX.c.template).where(OUTBOX.c.message_id == bindparam("message_id"))
_ALL = select(OUTBOX.c.message_id).order_by(OUTBOX.c.id)


def _row(message_id: str, **values) -> dict:
    """Every column but the key, as plain statements take them."""
    return {"created_at": _WHEN, "ticket_id": None, "template": "ack", "context": "{}", "language": "id",
            "to_address": "a@sekolah.test", "message_id": message_id, "in_reply_to": None, "references": None,
            "automatic": True, "status": OutboxStatus.pending, "attempts": 0, "next_attempt_at": _WHEN,
            "locked_until": None, "last_error": None, "sent_at": None, "bounced_at": None, "bounce_reason": None,
            **values}


def _waits(database) -> bool:
    return fast.pipelines(database.engine)


def test_a_write_sent_soon_is_seen_by_the_next_plain_statement(database):
    with database.engine.begin() as connection:
        write_soon(connection, _INSERT, _row("<soon@helpdesk.test>"))
        assert (fast._SOON in connection.connection.info) is _waits(database)
        rows = select_plain(connection, _BY_MESSAGE_ID, {"message_id": "<soon@helpdesk.test>"})
        assert [row.template for row in rows] == ["ack"]
        assert fast._SOON not in connection.connection.info


def test_a_write_sent_soon_is_seen_by_an_execute(database):
    with database.engine.begin() as connection:
        write_soon(connection, _INSERT, _row("<soon-execute@helpdesk.test>"))
        assert connection.execute(_ALL).scalars().all() == ["<soon-execute@helpdesk.test>"]


def test_writes_sent_soon_go_in_order_and_are_committed(database):
    with database.engine.begin() as connection:
        for number in range(3):
            write_soon(connection, _INSERT, _row(f"<soon-{number}@helpdesk.test>"))
    with database.engine.connect() as connection:
        assert connection.execute(_ALL).scalars().all() == [f"<soon-{n}@helpdesk.test>" for n in range(3)]


def test_a_rollback_drops_what_waits(database):
    with database.engine.connect() as connection:
        with connection.begin() as transaction:
            write_soon(connection, _INSERT, _row("<dropped@helpdesk.test>"))
            transaction.rollback()
        assert fast._SOON not in connection.connection.info
        with connection.begin():
            write_soon(connection, _INSERT, _row("<after@helpdesk.test>"))
    with database.engine.connect() as connection:
        assert connection.execute(_ALL).scalars().all() == ["<after@helpdesk.test>"]


def test_an_error_of_a_write_sent_soon_comes_as_executes_do(database):
    """On PostgreSQL the statement after it raises it; the transaction fails either way."""
    with database.engine.connect() as connection:
        with pytest.raises(exc.IntegrityError):
            with connection.begin():
                write_soon(connection, _INSERT, _row("<bad@helpdesk.test>", ticket_id=2**31 - 1))
                select_plain(connection, _ALL, {})
        with connection.begin():
            assert connection.execute(_ALL).scalars().all() == []


def test_an_error_at_the_commit_leaves_nothing(database):
    with database.engine.connect() as connection:
        with pytest.raises(exc.IntegrityError):
            with connection.begin():
                write_soon(connection, _INSERT, _row("<ok@helpdesk.test>"))
                write_soon(connection, _INSERT, _row("<bad@helpdesk.test>", ticket_id=2**31 - 1))
    with database.engine.connect() as connection:
        assert connection.execute(_ALL).scalars().all() == []


def test_selects_sent_together_read_what_each_reads_alone(database):
    with database.engine.begin() as connection:
        write_soon(connection, _INSERT, _row("<together@helpdesk.test>"))
        reads = [(_BY_MESSAGE_ID, {"message_id": "<together@helpdesk.test>"}), (_ALL, {}),
                 (_BY_MESSAGE_ID, {"message_id": "<none@helpdesk.test>"})]
        together = select_plain_many(connection, reads)
        alone = [select_plain(connection, statement, params) for statement, params in reads]
    assert together == alone and together[1] == [("<together@helpdesk.test>",)]


def test_reserved_keys_are_the_ones_the_rows_get(database):
    """On PostgreSQL a new ticket's and message's keys come before their
    INSERTs; on SQLite there is nothing to reserve."""
    with database.engine.begin() as connection:
        statement = next_keys(connection, Ticket, Message)
        if not _waits(database):
            assert statement is None
            return
        ((ticket_key, message_key),) = select_plain(connection, statement, {})
        ((next_ticket_key, _),) = select_plain(connection, statement, {})
    assert next_ticket_key > ticket_key and message_key >= 1


def test_the_policy_read_beside_another_query_is_the_policy(database):
    rows, policy = read_policy_beside(database, _ALL, {})
    assert rows == [] and policy == read_policy(database)
    assert database.read_plain_many([(_ALL, None), (_BY_MESSAGE_ID, {"message_id": "x"})]) == [[], []]


def test_a_read_asked_ahead_goes_with_the_next_reads_and_answers_the_later_one(database):
    """read_ahead: on PostgreSQL the SELECT goes out with the next
    select_plain_many, and the later select_plain_many that asks it again is
    answered with those rows, as the database was when they were sent (a
    sequence's value shows it: asking it again would move it on); rows never
    asked for are dropped with the transaction. On SQLite the later read
    simply runs."""
    with database.engine.begin() as connection:
        keys = next_keys(connection, Outbox)
        if keys is None:
            assert not _waits(database)
            fast.read_ahead(connection, [(_ALL, {})])
            write_soon(connection, _INSERT, _row("<ahead@helpdesk.test>"))
            assert select_plain_many(connection, [(_ALL, {})]) == [[("<ahead@helpdesk.test>",)]]
            return
        fast.read_ahead(connection, [(keys, {}), (_ALL, {})])
        assert select_plain_many(connection, [(_BY_MESSAGE_ID, {"message_id": "x"})]) == [[]]  # sends them
        write_soon(connection, _INSERT, _row("<after@helpdesk.test>"))
        ((first,),) = select_plain(connection, keys, {})  # not kept for select_plain: a new value
        [[(ahead,)], seen] = select_plain_many(connection, [(keys, {}), (_ALL, {})])
        assert ahead < first and seen == []  # as when sent: before the INSERT
        [[(again,)]] = select_plain_many(connection, [(keys, {})])  # kept rows are given once
        assert again > first
        fast.read_ahead(connection, [(keys, {})])
        select_plain_many(connection, [(_ALL, {})])
    with database.engine.begin() as connection:
        [[(fresh,)]] = select_plain_many(connection, [(keys, {})])
    assert fresh > again + 1  # the kept value of the last transaction was dropped, not given here
