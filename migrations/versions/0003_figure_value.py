"""Accepted figures, one row each, so that totals are one SQL aggregate; filled from the log
for what was accepted before.

Revision ID: 0003
Revises: 0002
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "figure_value",
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["obligation_id"], ["obligation.id"]),
        sa.PrimaryKeyConstraint("obligation_id", "key"),
    )
    accepted = op.get_bind().execute(
        sa.text(
            "SELECT id, figures FROM obligation WHERE status IN ('accepted', 'accepted_late') "
            "AND figures IS NOT NULL"
        )
    )
    rows = [
        {
            "obligation_id": oid,
            "key": key,
            "number": None if isinstance(value, str) else float(value),
            "text": value if isinstance(value, str) else None,
        }
        for oid, figures in accepted
        for key, value in json.loads(figures).items()
    ]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("figure_value")
