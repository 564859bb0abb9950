"""raw mail: an admin's request to process a quarantined message again

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("raw_mail") as batch:
        batch.add_column(sa.Column("reprocess_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_raw_mail_reprocess_requested_at"), ["reprocess_requested_at"])


def downgrade() -> None:
    with op.batch_alter_table("raw_mail") as batch:
        batch.drop_index(batch.f("ix_raw_mail_reprocess_requested_at"))
        batch.drop_column("reprocess_requested_at")
