"""ticket_handoff: offices that handed a ticket on keep reading it; school_contact: confirmed senders

An office that forwards or dispatches a ticket away keeps read access to it
(core.access.visibility), through one row per ticket and office. Tickets
forwarded before this revision get their rows from the audit trail, so a
City that forwarded last week can open the ticket today. A school_contact
is an address staff confirmed as a school's: its mail routes as the
school's own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "ticket_handoff",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["office.id"], name=op.f("fk_ticket_handoff_office_id_office")),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_ticket_handoff_ticket_id_ticket")),
        sa.PrimaryKeyConstraint("ticket_id", "office_id", name=op.f("pk_ticket_handoff")),
    )
    op.create_index("ix_ticket_handoff_office", "ticket_handoff", ["office_id", "ticket_id"], unique=False)
    op.execute("""
        INSERT INTO ticket_handoff (ticket_id, office_id, at)
        SELECT e.ticket_id, o.id, MAX(e.at) FROM event e JOIN office o ON o.code = e.from_value
        WHERE e.kind = 'forward' AND e.ticket_id IS NOT NULL AND e.from_value <> e.to_value
        GROUP BY e.ticket_id, o.id""")
    op.create_table(
        "school_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(["school_id"], ["office.id"], name=op.f("fk_school_contact_school_id_office")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_contact")),
        sa.UniqueConstraint("email", name=op.f("uq_school_contact_email")),
    )
    op.create_index(op.f("ix_school_contact_school_id"), "school_contact", ["school_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_school_contact_school_id"), table_name="school_contact")
    op.drop_table("school_contact")
    op.drop_index("ix_ticket_handoff_office", table_name="ticket_handoff")
    op.drop_table("ticket_handoff")
