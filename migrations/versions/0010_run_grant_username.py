"""The runs a person started, by their name: the gate narrows every read of runs, logs and
artifacts of a person who is not an administrator to the runs their grants started, on every
request the UI makes, so it reads a person's grants along this index rather than all of them.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_grant_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_grant_username"))
