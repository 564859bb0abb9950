"""raw_mail: rspamd's action and score; sender_rule: admins' ban and allow lists

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("raw_mail") as batch:
        batch.add_column(sa.Column("spam_action", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("spam_score", sa.Float(), nullable=True))
    op.create_table(
        "sender_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("ban", "allow", name="senderrulekind", native_enum=False, length=16),
                  nullable=False),
        sa.Column("pattern", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_rule")),
        sa.UniqueConstraint("pattern", name=op.f("uq_sender_rule_pattern")),
    )


def downgrade() -> None:
    op.drop_table("sender_rule")
    with op.batch_alter_table("raw_mail") as batch:
        batch.drop_column("spam_score")
        batch.drop_column("spam_action")
