"""ticket_participant: each participant's own private link (nonce, token digest, issue time)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Participants were copied on the requester's mail, link and all. Rows from
before get their link when the next staff reply is mailed to them
(core.mail.copies.issue_missing): a token needs the secret key, which a
migration does not have.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0016"
down_revision: Union[str, Sequence[str], None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_participant") as batch:
        batch.add_column(sa.Column("token_nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(batch.f("uq_ticket_participant_token_hash"), ["token_hash"])


def downgrade() -> None:
    with op.batch_alter_table("ticket_participant") as batch:
        batch.drop_constraint(batch.f("uq_ticket_participant_token_hash"), type_="unique")
        batch.drop_column("token_issued_at")
        batch.drop_column("token_hash")
        batch.drop_column("token_nonce")
