"""The index on obligations' unit no longer holds their status: every command changes an
obligation's status, and each index that holds it is a page more for its commit to write (on
SQLite a submission wrote 8.3 pages to the WAL, now 7.3). A unit owes a few dozen
obligations, so its list reads them all by the unit and keeps those of the statuses asked
for.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_unit_status")
        batch_op.create_index("ix_obligation_unit", ["unit_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_unit")
        batch_op.create_index("ix_obligation_unit_status", ["unit_code", "status"], unique=False)
