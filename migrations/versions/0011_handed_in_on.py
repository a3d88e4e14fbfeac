"""Each obligation keeps the day its report arrived (ngày đến), by which on time is judged: the
local day it was recorded, or the day the lead office entered for a report received on paper,
by official e-mail or through the document system. Every report recorded so far arrived the
day it was recorded, in Asia/Ho_Chi_Minh (UTC+7 since 1975, which SQLite is told as such).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The local day of the stored UTC instant, as each database computes it.
LOCAL_DAY = {
    "sqlite": "date(submitted_at, '+7 hours')",
    "postgresql": "CAST(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh' AS DATE)",
}


def upgrade() -> None:
    with op.batch_alter_table("obligation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_in_on", sa.Date(), nullable=True))
    local_day = LOCAL_DAY[op.get_bind().dialect.name]
    op.execute(f"UPDATE obligation SET handed_in_on = {local_day} WHERE submitted_at IS NOT NULL")


def downgrade() -> None:
    # in place: SQLite (3.35 and later) drops a column itself, where a copy of the table could
    # not replace one the event log's foreign keys point at
    op.drop_column("obligation", "handed_in_on")
