"""the CS's 本人確認情報ファイル, its history, the seen events, the notice queue and the CS log

Revision ID: cs0001
Revises:
Create Date: 2026-12-06 02:40:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
APPEND_ONLY = ("cs_identity_history", "cs_seen_events", "cs_log")


def upgrade() -> None:
    op.create_table(
        "cs_identity",
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(1), nullable=False),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("addressee_number", name="pk_cs_identity"),
    )
    op.create_index("ix_cs_identity_resident_code", "cs_identity", ["resident_code"])
    op.create_table(
        "cs_identity_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_identity_history"),
        sa.UniqueConstraint(
            "addressee_number", "sequence", name="uq_cs_identity_history_addressee_number_sequence"
        ),
    )
    op.create_table(
        "cs_seen_events",
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seen_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("addressee_number", "register_version", name="pk_cs_seen_events"),
    )
    _notices()
    op.create_table(
        "cs_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("entry", sa.Integer()),
        sa.Column("addressee_number", sa.String(10)),
        sa.Column("kind", sa.String(20)),
        sa.Column("sequence", sa.Integer()),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_log"),
    )
    _append_only_triggers()


def _notices() -> None:
    op.create_table(
        "cs_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(32), nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("change_reason", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("event_position", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("register_version", sa.Integer(), nullable=False),
        sa.Column("household_changed", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer()),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("error_code", sa.String(40)),
        sa.Column("error_item", sa.String(40)),
        sa.Column("error_message", sa.Text()),
        sa.Column("send_back_reason", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_notices"),
        sa.UniqueConstraint("notice_id", name="uq_cs_notices_notice_id"),
        sa.UniqueConstraint(
            "addressee_number",
            "event_position",
            "part",
            name="uq_cs_notices_addressee_number_event_position_part",
        ),
    )
    op.create_index("ix_cs_notices_state", "cs_notices", ["state"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS cs_append_only() CASCADE")
    for table in ("cs_log", "cs_notices", "cs_seen_events", "cs_identity_history", "cs_identity"):
        op.drop_table(table)


def _append_only_triggers() -> None:
    """History, the seen events and the CS log refuse UPDATE and DELETE on both engines (as the register's); on
    PostgreSQL through one function, which the later migrations' tables use too."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION cs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    make_append_only(*APPEND_ONLY)
