"""Migration 0014 rewrites the old canned placeholders ({ref}, {name}) in the
current form, so answers saved before the change fill in again."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import select, text

from core.models import Base, CannedResponse
from core.storage import schema
from core.tickets.canned import render

OLD_BODY = "Yth. {name}, permohonan {ref} sedang kami proses. {{ agent.name }}"


def _migrate(engine, revision: str) -> None:
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(schema.MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_old_placeholders_are_rewritten_and_fill_in_again(database):
    Base.metadata.drop_all(database.engine)
    _migrate(database.engine, "0013")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO canned_response (title, body, active) VALUES ('a', :body, true)"),
                           {"body": OLD_BODY})
        connection.execute(text("INSERT INTO canned_response (title, body, active) VALUES ('b', 'Tanpa isian.', true)"))
    _migrate(database.engine, "head")
    with database.session() as s:
        bodies = list(s.scalars(select(CannedResponse.body).order_by(CannedResponse.title)))
    assert bodies == ["Yth. {{ requester.name }}, permohonan {{ ticket.ref }} sedang kami proses. {{ agent.name }}",
                      "Tanpa isian."]
    values = {"ticket": {"ref": "T-1"}, "requester": {"name": "Bu Sari"}, "agent": {"name": "Petugas"}}
    assert render(bodies[0], values) == "Yth. Bu Sari, permohonan T-1 sedang kami proses. Petugas"
