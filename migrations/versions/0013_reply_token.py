"""A unit answers a reminder by e-mail: each letter that asks for replies, the obligations it
asks for, and the SHA-256 of its one-time token.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_token",
        sa.Column("message_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("obligations", sa.Text(), nullable=False),
        sa.Column("reply_to", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reply", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["message_key"], ["message.key"]),
        sa.PrimaryKeyConstraint("message_key"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("reply_token")
