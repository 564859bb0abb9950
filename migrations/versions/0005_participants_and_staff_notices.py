"""ticket participants (Cc), staff notices and their mail switches, last seen

A new mail's Cc addresses become participants of its ticket (copied on
replies, allowed to reply). Staff notices (assigned, no agent available,
SLA breach) are kept per user for the portal header's count; each user may
turn the mail of each kind off (app_user.mail_off). app_user.last_seen_at
lets availability lapse when nobody loads a page. A staff reply's Cc
travels in outbox.cc.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "ticket_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "address", name="uq_ticket_participant_address"),
    )
    op.create_index("ix_ticket_participant_ticket_id", "ticket_participant", ["ticket_id"], unique=False)
    op.create_table(
        "staff_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_notice_user_unread", "staff_notice", ["user_id", "read_at"], unique=False)
    op.create_index("ix_staff_notice_ticket_id", "staff_notice", ["ticket_id"], unique=False)
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mail_off", sa.String(length=100), server_default="", nullable=False))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("cc", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("cc")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("mail_off")
        batch.drop_column("last_seen_at")
    op.drop_index("ix_staff_notice_ticket_id", table_name="staff_notice")
    op.drop_index("ix_staff_notice_user_unread", table_name="staff_notice")
    op.drop_table("staff_notice")
    op.drop_index("ix_ticket_participant_ticket_id", table_name="ticket_participant")
    op.drop_table("ticket_participant")
