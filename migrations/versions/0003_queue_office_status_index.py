"""ticket: one index for a queue's page and its count; ids in the office-updated index

The queues list one office's tickets in a status, newest first, and count
them by the same office and status. (office_id, status, updated_at) serves
the list in order; the included columns (what the queue rules test) let
PostgreSQL count from the index alone. It replaces (office_id, status),
which it begins with. Search takes the ids of a scope's newest tickets from
(office_id, updated_at), which now includes the id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INCLUDED = ["assignee_id", "sla_breached_at", "first_response_at", "first_response_due_at", "resolution_due_at"]


def upgrade() -> None:
    op.create_index("ix_ticket_office_status_updated", "ticket", ["office_id", "status", "updated_at"],
                    unique=False, postgresql_include=INCLUDED)
    op.drop_index("ix_ticket_office_status", table_name="ticket")
    op.drop_index("ix_ticket_office_updated", table_name="ticket")
    op.create_index("ix_ticket_office_updated", "ticket", ["office_id", "updated_at"], unique=False,
                    postgresql_include=["id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_office_updated", table_name="ticket")
    op.create_index("ix_ticket_office_updated", "ticket", ["office_id", "updated_at"], unique=False)
    op.create_index("ix_ticket_office_status", "ticket", ["office_id", "status"], unique=False)
    op.drop_index("ix_ticket_office_status_updated", table_name="ticket")
