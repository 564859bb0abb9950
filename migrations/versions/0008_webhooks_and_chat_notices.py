"""webhooks, their deliveries, offices' chat URLs, the requester's phone

Admins register webhooks (secret sealed, see core.hooks.sealing); each
delivery (webhook, Slack, Teams, WhatsApp) is a hook_delivery row written
with the change, the outbox's sibling. Offices carry Slack and Teams
incoming-webhook URLs; a ticket keeps the phone number and WhatsApp consent
the customer gave on the web form.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_table(
        "hook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.Enum("webhook", "slack", "teams", "whatsapp", name="channel", native_enum=False,
                                     length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Enum("pending", "sent", "failed", "bounced", "suppressed", name="outboxstatus",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], name=op.f("fk_hook_delivery_ticket_id_ticket")),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"], name=op.f("fk_hook_delivery_webhook_id_webhook")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_delivery")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_hook_delivery_delivery_id")),
    )
    with op.batch_alter_table("hook_delivery") as batch:
        batch.create_index("ix_hook_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch.create_index("ix_hook_delivery_order", ["endpoint", "ticket_id", "status"], unique=False)
        batch.create_index(batch.f("ix_hook_delivery_ticket_id"), ["ticket_id"], unique=False)
        batch.create_index(batch.f("ix_hook_delivery_webhook_id"), ["webhook_id"], unique=False)
    with op.batch_alter_table("office") as batch:
        batch.add_column(sa.Column("slack_url", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("teams_url", sa.String(length=2000), nullable=True))
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("requester_phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("whatsapp_consent", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("whatsapp_consent")
        batch.drop_column("requester_phone")
    with op.batch_alter_table("office") as batch:
        batch.drop_column("teams_url")
        batch.drop_column("slack_url")
    op.drop_index("ix_hook_delivery_webhook_id", table_name="hook_delivery")
    op.drop_index("ix_hook_delivery_ticket_id", table_name="hook_delivery")
    op.drop_index("ix_hook_delivery_order", table_name="hook_delivery")
    op.drop_index("ix_hook_delivery_due", table_name="hook_delivery")
    op.drop_table("hook_delivery")
    op.drop_table("webhook")
