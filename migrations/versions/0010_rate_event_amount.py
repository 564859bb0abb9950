"""rate event: an amount, so a limit can sum bytes as well as count actions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("rate_event") as batch:
        batch.add_column(sa.Column("amount", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rate_event") as batch:
        batch.drop_column("amount")
