"""ticket: incident parent flag and the incident a ticket is attached to; bulk_job: staff actions over many tickets

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("is_incident", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_ticket_incident_id_ticket"), "ticket", ["incident_id"], ["id"])
        batch.create_index(batch.f("ix_ticket_incident_id"), ["incident_id"], unique=False)
    op.create_table(
        "bulk_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("refs", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("status", sa.Enum("pending", "running", "done", "failed", name="jobstatus", native_enum=False,
                                    length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], name=op.f("fk_bulk_job_actor_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_job")),
    )
    op.create_index(op.f("ix_bulk_job_actor_id"), "bulk_job", ["actor_id"], unique=False)
    op.create_index("ix_bulk_job_status_created", "bulk_job", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bulk_job_status_created", table_name="bulk_job")
    op.drop_index(op.f("ix_bulk_job_actor_id"), table_name="bulk_job")
    op.drop_table("bulk_job")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index(batch.f("ix_ticket_incident_id"))
        batch.drop_constraint(batch.f("fk_ticket_incident_id_ticket"), type_="foreignkey")
        batch.drop_column("incident_id")
        batch.drop_column("is_incident")
