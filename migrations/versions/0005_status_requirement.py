"""The index on obligations' status gains their requirement: whether a requirement still has
something to hand in (its submission form) is one index lookup after a submission, and the
review desk reads one requirement's actionable obligations without scanning the others. It
replaces the status index rather than adding one, so a command writes no more index pages.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_status")
        batch_op.create_index(
            "ix_obligation_status_requirement", ["status", "requirement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.drop_index("ix_obligation_status_requirement")
        batch_op.create_index("ix_obligation_status", ["status"], unique=False)
