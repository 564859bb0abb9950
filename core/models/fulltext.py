"""Full-text search support in the schema: FTS5 tables on SQLite, GIN indexes on PostgreSQL.

SQLite keeps external-content FTS5 tables in step with `ticket.subject` and
`message.text` through triggers; PostgreSQL indexes the same expressions
core/queries/search.py queries (`ticket_document`, `message_document`), so the
planner uses the index. Both are created with the schema (create_all), and a
migration creates them with `install(connection)`.
"""
from __future__ import annotations

import sqlalchemy.dialects.postgresql  # noqa: F401  (registers the typed to_tsvector and to_tsquery)
from sqlalchemy import DDL, Connection, Index, event, func, text

from core.models.base import Base
from core.models.directory import Office
from core.models.tickets import Message, Ticket

# A tsvector may not pass 1 MB; the first 200,000 characters of a message are
# what anyone searches for anyway.
MESSAGE_CHARS = 200_000


# The configuration is written as SQL text, not a bound value: the planner only
# uses an expression index for a query whose expression is literally the same.
# ('simple': no stemming, which suits Indonesian, which PostgreSQL has no stemmer for.)
CONFIG = "'simple'"


def ticket_document():
    return func.to_tsvector(text(CONFIG), Ticket.__table__.c.subject)


def message_document():
    return func.to_tsvector(text(CONFIG), func.left(Message.__table__.c.text, text(str(MESSAGE_CHARS))))


def office_document():
    return func.to_tsvector(text(CONFIG), Office.__table__.c.name)


FULLTEXT_INDEXES = (
    Index("ix_ticket_subject_fts", ticket_document(), postgresql_using="gin").ddl_if(dialect="postgresql"),
    Index("ix_message_text_fts", message_document(), postgresql_using="gin").ddl_if(dialect="postgresql"),
)

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS ticket_fts USING fts5(subject, content='ticket', content_rowid='id')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(text, content='message', content_rowid='id')",
    """CREATE TRIGGER IF NOT EXISTS ticket_fts_ai AFTER INSERT ON ticket BEGIN
       INSERT INTO ticket_fts(rowid, subject) VALUES (new.id, new.subject); END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_fts_ad AFTER DELETE ON ticket BEGIN
       INSERT INTO ticket_fts(ticket_fts, rowid, subject) VALUES ('delete', old.id, old.subject); END""",
    """CREATE TRIGGER IF NOT EXISTS ticket_fts_au AFTER UPDATE OF subject ON ticket BEGIN
       INSERT INTO ticket_fts(ticket_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
       INSERT INTO ticket_fts(rowid, subject) VALUES (new.id, new.subject); END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_ai AFTER INSERT ON message BEGIN
       INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_ad AFTER DELETE ON message BEGIN
       INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_au AFTER UPDATE OF text ON message BEGIN
       INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
       INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END""",
]

# Office names (search finds a school's tickets by its name): added in
# migration 0010, so kept apart from what 0001 installs.
OFFICE_INDEX = Index("ix_office_name_fts", office_document(), postgresql_using="gin").ddl_if(dialect="postgresql")
OFFICE_SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS office_fts USING fts5(name, content='office', content_rowid='id')",
    """CREATE TRIGGER IF NOT EXISTS office_fts_ai AFTER INSERT ON office BEGIN
       INSERT INTO office_fts(rowid, name) VALUES (new.id, new.name); END""",
    """CREATE TRIGGER IF NOT EXISTS office_fts_ad AFTER DELETE ON office BEGIN
       INSERT INTO office_fts(office_fts, rowid, name) VALUES ('delete', old.id, old.name); END""",
    """CREATE TRIGGER IF NOT EXISTS office_fts_au AFTER UPDATE OF name ON office BEGIN
       INSERT INTO office_fts(office_fts, rowid, name) VALUES ('delete', old.id, old.name);
       INSERT INTO office_fts(rowid, name) VALUES (new.id, new.name); END""",
]

for statement in SQLITE_DDL + OFFICE_SQLITE_DDL:
    event.listen(Base.metadata, "after_create", DDL(statement).execute_if(dialect="sqlite"))


def install(connection: Connection) -> None:
    """Create the SQLite search tables (and index existing rows), for a migration."""
    if connection.dialect.name != "sqlite":
        return
    for statement in SQLITE_DDL:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
    connection.exec_driver_sql("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")


def install_office_names(connection: Connection) -> None:
    """Create the SQLite search table of office names (and index existing rows), for a migration."""
    if connection.dialect.name != "sqlite":
        return
    for statement in OFFICE_SQLITE_DDL:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("INSERT INTO office_fts(office_fts) VALUES ('rebuild')")
