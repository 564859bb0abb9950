"""office: the path index carries the id and kind, so scopes read it alone

Every ticket list checks visibility with the ids of the offices under the
user's path (core.access.visibility), and the API and queue pages read the
ids of the non-customer offices there (core.queries.queues.scope_of). Under a
Province's path lie some three thousand schools: a plain path index sends
each match to the table (1,900 pages, 1.5 ms a query on a million tickets);
with id and kind in the index, PostgreSQL reads the index alone (25 pages,
0.3-0.5 ms). SQLite keeps the plain index (it has no INCLUDE).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

"""
from typing import Sequence, Union

from alembic import op

revision: str = "0017"
down_revision: Union[str, Sequence[str], None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPS = {"path": "varchar_pattern_ops"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_office_path_prefix", table_name="office", postgresql_ops=OPS)
    op.create_index("ix_office_path_prefix", "office", ["path"], unique=False, postgresql_ops=OPS,
                    postgresql_include=["id", "kind"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_office_path_prefix", table_name="office", postgresql_ops=OPS)
    op.create_index("ix_office_path_prefix", "office", ["path"], unique=False, postgresql_ops=OPS)
