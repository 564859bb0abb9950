"""canned_response: the old placeholders {ref} and {name} rewritten in the current form

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Canned answers were once filled by replacing {ref} with the ticket's reference
and {name} with the requester's name. Placeholders are now {{ ticket.ref }},
{{ requester.name }} and the others of core.tickets.canned, and answers saved
before the change printed the old ones literally. Rewriting the stored text
once keeps a single syntax: the renderer stays one substitution, and the
supervisor who edits an old answer sees (and copies) the current form.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

canned = sa.table("canned_response", sa.column("body", sa.Text))

# Old form, current form: what the old code replaced, and with what.
RENAMES = (("{ref}", "{{ ticket.ref }}"), ("{name}", "{{ requester.name }}"))


def _rewrite(pairs) -> None:
    for old, new in pairs:
        op.execute(canned.update().where(canned.c.body.contains(old, autoescape=True))
                   .values(body=sa.func.replace(canned.c.body, old, new)))


def upgrade() -> None:
    _rewrite(RENAMES)


def downgrade() -> None:
    _rewrite((new, old) for old, new in RENAMES)
