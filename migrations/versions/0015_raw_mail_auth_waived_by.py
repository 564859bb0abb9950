"""raw_mail: the admin who released a mail despite its failed sender authentication

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("raw_mail") as batch:
        batch.add_column(sa.Column("auth_waived_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_raw_mail_auth_waived_by_id_app_user"), "app_user",
                                 ["auth_waived_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("raw_mail") as batch:
        batch.drop_constraint(batch.f("fk_raw_mail_auth_waived_by_id_app_user"), type_="foreignkey")
        batch.drop_column("auth_waived_by_id")
