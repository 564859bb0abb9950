"""office.timezone; indexes for a school's and a requester's tickets newest first; office names searchable

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from core.models.fulltext import OFFICE_INDEX, install_office_names


revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), server_default="Asia/Jakarta", nullable=False))
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_school_id")
        batch.drop_index("ix_ticket_requester_email")
        batch.create_index("ix_ticket_school_created", ["school_id", "created_at"], unique=False)
        batch.create_index("ix_ticket_requester_created", ["requester_email", "created_at"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        OFFICE_INDEX.create(bind)
    install_office_names(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        OFFICE_INDEX.drop(bind)
    else:
        for name in ("office_fts_ai", "office_fts_ad", "office_fts_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS office_fts")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_requester_created")
        batch.drop_index("ix_ticket_school_created")
        batch.create_index("ix_ticket_requester_email", ["requester_email"], unique=False)
        batch.create_index("ix_ticket_school_id", ["school_id"], unique=False)
    with op.batch_alter_table("office") as batch:
        batch.drop_column("timezone")
