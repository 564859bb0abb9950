"""raw_content: a message's bytes committed with its row, until moved to the store

The SMTP processes wrote each message's bytes to a file of its own (create,
write, fsync, rename, fsync of the folder) before parsing it: a third of
their CPU a mail. The bytes now travel with the RawMail row's values and are
written beside it, in the transaction that decides the message, so that the
commit before the 250 makes both durable; a periodic task moves them into
the content store (core.storage.spool).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: Union[str, Sequence[str], None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "raw_content",
        sa.Column("raw_mail_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["raw_mail_id"], ["raw_mail.id"], name=op.f("fk_raw_content_raw_mail_id_raw_mail")),
        sa.PrimaryKeyConstraint("raw_mail_id", name=op.f("pk_raw_content")),
    )


def downgrade() -> None:
    left = op.get_bind().execute(sa.text("SELECT count(*) FROM raw_content")).scalar_one()
    if left:
        # Earlier releases read raw mail from the store only: these would be lost.
        raise RuntimeError(f"{left} messages' bytes are not in the content store yet: run the worker "
                           "until its spool pass has moved them (core.storage.spool), then downgrade")
    op.drop_table("raw_content")
