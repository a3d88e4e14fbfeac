"""A unit may continue under its code with another name, kind or parent from a day (the
2025 communes kept the code of one of the units merged into them): its earlier versions.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_version",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("parent_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(["code"], ["unit.code"]),
        sa.ForeignKeyConstraint(["parent_code"], ["unit.code"]),
        sa.PrimaryKeyConstraint("code", "valid_until"),
    )


def downgrade() -> None:
    op.drop_table("unit_version")
