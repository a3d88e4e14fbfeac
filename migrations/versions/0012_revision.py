"""A published directive is amended or withdrawn by a later dispatch, from a day: each
revision is kept, append-only like the event log (the database refuses UPDATE and DELETE).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("dispatch", sqlmodel.sql.sqltypes.AutoString(length=97), nullable=False),
        sa.Column("dispatch_date", sa.Date(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("replaced", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("made_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("made_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["directive_id"], ["directive.id"]),
        sa.ForeignKeyConstraint(["made_by"], ["actor.username"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("directive_id", "number"),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revision_directive_id"), ["directive_id"], unique=False
        )
    _forbid_changes()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER revision_append_only ON revision")
        op.execute("DROP FUNCTION dondoc_revision_append_only()")
    else:
        op.execute("DROP TRIGGER revision_no_update")
        op.execute("DROP TRIGGER revision_no_delete")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revision_directive_id"))
    op.drop_table("revision")


def _forbid_changes() -> None:
    """A revision, once made, stays as it was: the database refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION dondoc_revision_append_only() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'dondoc: revisions are append-only (% refused)', "
            "TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER revision_append_only BEFORE UPDATE OR DELETE ON revision "
            "FOR EACH ROW EXECUTE FUNCTION dondoc_revision_append_only()"
        )
        return
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER revision_no_{operation.lower()} BEFORE {operation} ON revision "
            f"BEGIN SELECT RAISE(ABORT, 'dondoc: revisions are append-only "
            f"({operation} refused)'); END"
        )
