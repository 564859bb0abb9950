"""Alembic environment: run by core.storage.schema with an open connection."""
from alembic import context

from core.models import Base
from core.models.base import UTCDateTime
from core.storage.schema import include_name

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    # Our UTC wrapper is a plain timezone-aware DateTime in the schema.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
