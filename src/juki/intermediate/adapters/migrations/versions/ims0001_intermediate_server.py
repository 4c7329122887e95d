"""the 中間サーバー's tables: per-person state, 団体内統合宛名, 符号 serials, measures and flags, the 副本, the 照会, the
情報提供等記録 and its own log

Revision ID: ims0001
Revises:
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "ims0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
APPEND_ONLY = (
    "ims_seen_events",
    "ims_protections",
    "ims_flags",
    "ims_replicas",
    "ims_replica_messages",
    "ims_provision_log",
    "ims_log",
)
FUNCTION = "ims_append_only"


def upgrade() -> None:
    op.create_table(
        "ims_counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.create_table(
        "ims_persons",
        sa.Column("addressee_number", sa.String(10), primary_key=True),
        sa.Column("register_version", sa.Integer, nullable=False),
        sa.Column("household_number", sa.String(10)),
        sa.Column("relationship", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_households",
        sa.Column("household_number", sa.String(10), primary_key=True),
        sa.Column("householder", sa.String(10)),  # 宛名番号; null while the household has none (j100)
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_unified",
        sa.Column("unified_number", sa.String(15), primary_key=True),
        sa.Column("my_number", sa.Text, nullable=False),
        sa.Column("my_number_index", sa.String(64), nullable=False, unique=True),
        sa.Column("link_code_state", sa.String(12), nullable=False),  # waiting, requested, issued
        sa.Column("link_code", sa.String(64), unique=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_links",
        sa.Column("system_id", sa.String(40), primary_key=True),
        sa.Column("addressee_number", sa.String(40), primary_key=True),
        sa.Column("unified_number", sa.String(15), nullable=False),
        sa.Column("four_info", sa.JSON, nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_serials",
        sa.Column("serial", sa.String(40), primary_key=True),
        sa.Column("unified_number", sa.String(15), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),  # taken, handed, issued, abandoned
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("taken_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_seen_events",
        sa.Column("addressee_number", sa.String(10), primary_key=True),
        sa.Column("register_version", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("seen_at", TZ, nullable=False),
    )
    op.create_table(
        "ims_protections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("measure_id", sa.String(40), nullable=False),
        sa.Column("restriction", sa.String(20), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("in_force_from", sa.Date, nullable=False),
        sa.Column("in_force_until", sa.Date),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.UniqueConstraint(
            "position", "addressee_number", name="uq_ims_protections_position_addressee_number"
        ),
    )
    op.create_table(
        "ims_flags",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("no_auto_reply", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_table(
        "ims_replicas",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unified_number", sa.String(15), nullable=False),
        sa.Column("info_code", sa.String(8), nullable=False),
        sa.Column("record_version", sa.Integer, nullable=False),
        sa.Column("operation", sa.String(4), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("registered_at", TZ, nullable=False),
        sa.UniqueConstraint(
            "unified_number",
            "info_code",
            "record_version",
            name="uq_ims_replicas_unified_number_info_code_record_version",
        ),
    )
    op.create_table(
        "ims_replica_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(80), nullable=False),
        sa.Column("result", sa.String(12), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_table(
        "ims_queries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("query_id", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("procedure", sa.Text, nullable=False),
        sa.Column("information", sa.Text, nullable=False),
        sa.Column("items_asked", sa.JSON),
        sa.Column("link_code", sa.String(100), nullable=False),
        sa.Column("unified_number", sa.String(15)),
        # answered, refused, pending, released, withheld, duplicate
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # the answer's wire status
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("answer_items", sa.JSON, nullable=False),
        sa.Column("replica_id", sa.Integer),  # the 副本's version the answer gives
        sa.Column("due", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", TZ),
        sa.Column("review_reason", sa.Text),
        sa.Column("sent_at", TZ),
        sa.UniqueConstraint("query_id", "seq", name="uq_ims_queries_query_id_seq"),
    )
    op.create_table(
        "ims_provision_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("query_id", sa.String(100), nullable=False),
        sa.Column("requester", sa.Text, nullable=False),
        sa.Column("legal_basis", sa.Text, nullable=False),
        sa.Column("procedure", sa.Text, nullable=False),
        sa.Column("information", sa.Text, nullable=False),
        sa.Column("link_code", sa.String(100), nullable=False),
        sa.Column("unified_number", sa.String(15)),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("retain_until", sa.Date, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "ims_cursors",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "ims_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("result", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("terminal", sa.String(200), nullable=False),
        sa.Column("addressee_number", sa.String(10)),
    )
    op.create_index("ix_ims_persons_household_number", "ims_persons", ["household_number"])
    op.create_index("ix_ims_links_unified_number", "ims_links", ["unified_number"])
    op.create_index("ix_ims_serials_unified_number", "ims_serials", ["unified_number"])
    op.create_index("ix_ims_protections_addressee_number", "ims_protections", ["addressee_number"])
    op.create_index("ix_ims_flags_addressee_number", "ims_flags", ["addressee_number"])
    op.create_index("ix_ims_queries_query_id", "ims_queries", ["query_id"])
    op.create_index("ix_ims_queries_unified_number", "ims_queries", ["unified_number"])
    op.create_index("ix_ims_provision_log_at", "ims_provision_log", ["at"])
    op.create_index("ix_ims_provision_log_unified_number", "ims_provision_log", ["unified_number"])
    op.bulk_insert(
        sa.table("ims_counters", sa.column("name", sa.String), sa.column("value", sa.Integer)),
        [{"name": "unified", "value": 0}, {"name": "provision_log", "value": 0}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    make_append_only(*APPEND_ONLY, function=FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE")
    for table in (
        "ims_log",
        "ims_cursors",
        "ims_provision_log",
        "ims_queries",
        "ims_replica_messages",
        "ims_replicas",
        "ims_flags",
        "ims_protections",
        "ims_seen_events",
        "ims_serials",
        "ims_links",
        "ims_unified",
        "ims_households",
        "ims_persons",
        "ims_counters",
    ):
        op.drop_table(table)
