"""ticket: SLA clocks that pause; triage_rule: rules setting a new ticket's category and priority

A ticket waiting for the customer, on hold or closed stops its SLA clocks:
sla_paused_at says since when, sla_paused_seconds how much working time
they stood before, which pushes the due times back. Admins' triage rules
(keyword, school, category -> category, priority) get a table of their own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("sla_paused_seconds", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "triage_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=200), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("set_category_id", sa.Integer(), nullable=True),
        sa.Column("set_priority_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["office.id"], name=op.f("fk_triage_rule_school_id_office")),
        sa.ForeignKeyConstraint(["category_id"], ["category.id"], name=op.f("fk_triage_rule_category_id_category")),
        sa.ForeignKeyConstraint(["set_category_id"], ["category.id"],
                                name=op.f("fk_triage_rule_set_category_id_category")),
        sa.ForeignKeyConstraint(["set_priority_id"], ["priority.id"],
                                name=op.f("fk_triage_rule_set_priority_id_priority")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_rule")),
    )


def downgrade() -> None:
    op.drop_table("triage_rule")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("sla_paused_seconds")
        batch.drop_column("sla_paused_at")
