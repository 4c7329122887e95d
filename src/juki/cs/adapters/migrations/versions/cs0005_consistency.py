"""the 整合性確認 with the prefecture (標準仕様書 j1100): its runs, kept append-only

Revision ID: cs0005
Revises: cs0004
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "cs0005"
down_revision = "cs0004"
branch_labels = None
depends_on = None

TABLE = "cs_consistency_runs"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("ours_rows", sa.Integer()),
        sa.Column("theirs_rows", sa.Integer()),
        sa.Column("ours_sha256", sa.String(64)),
        sa.Column("theirs_sha256", sa.String(64)),
        sa.Column("differences", sa.JSON(), nullable=False),
        sa.Column("queued", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_consistency_runs"),
    )
    op.create_index("ix_cs_consistency_runs_at", TABLE, ["at"])
    _append_only()


def _append_only() -> None:
    """A kept run is never changed or removed, on both engines (as cs0001's tables; its function is reused)."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{verb.lower()} BEFORE {verb} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION cs_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION cs_append_only()"
    )


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers go with it
