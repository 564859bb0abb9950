"""Creating and upgrading the schema with Alembic (the migrations/ folder)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core.models import Base

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; return (before, after). Idempotent."""
    with engine.begin() as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(_config(connection), "head")
        after = MigrationContext.configure(connection).get_current_revision()
    return before, after


def head() -> str:
    return ScriptDirectory.from_config(_config(None)).get_current_head()


def include_name(name, type_, parent_names) -> bool:
    """Leave SQLite's full-text shadow tables (ticket_fts, ticket_fts_data, ...)
    out of comparisons: they are made by core/models/fulltext.py, not mapped."""
    return not (type_ == "table" and "_fts" in (name or ""))


def drift(engine: Engine) -> list:
    """Differences between the migrated schema and the models (empty when in step)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, Base.metadata)


def new_revision(engine: Engine, message: str) -> None:
    """Write a migration for the models' changes (for developers)."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
