"""the manual fallback of the notices (標準仕様書 j1090): the sending mode, media exports and answers, append-only

Revision ID: cs0007
Revises: cs0006
Create Date: 2026-12-07 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "cs0007"
down_revision = "cs0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
TABLES = ("cs_sending_modes", "cs_media_exports", "cs_media_answers")


def upgrade() -> None:
    op.create_table(
        "cs_sending_modes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_sending_modes"),
    )
    op.create_table(
        "cs_media_exports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_media_exports"),
        sa.UniqueConstraint("sha256", name="uq_cs_media_exports_sha256"),
    )
    op.create_table(
        "cs_media_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("file", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("export_id", sa.Integer()),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_media_answers"),
    )
    _append_only()


def _append_only() -> None:
    """A switch, an export and an answer file applied are records: UPDATE and DELETE refused on both engines, as
    the CS's other histories (cs0001's function on PostgreSQL)."""
    for table in TABLES:
        if op.get_bind().dialect.name == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
            continue
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cs_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION cs_append_only()"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)  # its triggers go with it
