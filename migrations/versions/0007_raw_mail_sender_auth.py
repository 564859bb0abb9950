"""raw_mail.auth: the sender authentication verdict (SPF, DKIM, DMARC) as JSON

Recorded for every mail received (core.mail.auth.Verdict), shown in the mail
log, the export and on the staff ticket page.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("raw_mail", sa.Column("auth", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("raw_mail", "auth")
