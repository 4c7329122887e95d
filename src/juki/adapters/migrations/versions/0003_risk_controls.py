"""The risk controls of the assessment's section III: account validity, work orders, 支援措置, alerts, bulk outputs, media export records

`media_exports` is append-only like the history and the log (triggers as in 0001).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("staff", sa.Column("valid_until", TS, nullable=True))
    op.create_table(
        "work_orders",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("contractor_id", sa.String(length=40), nullable=False),
        sa.Column("procedure", sa.String(length=40), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("issued_by", sa.String(length=40), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["contractor_id"], ["staff.staff_id"], name=op.f("fk_work_orders_contractor_id_staff")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_work_orders")),
    )
    op.create_index("ix_work_orders_contractor", "work_orders", ["contractor_id"])
    op.create_table(
        "protection_measures",
        sa.Column("measure_id", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requester", sa.Text(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("released_until", TS, nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("measure_id", name=op.f("pk_protection_measures")),
    )
    op.create_index("ix_protection_measures_subject", "protection_measures", ["subject", "state"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(length=40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=10), nullable=True),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_open", "alerts", ["acknowledged_at", "at"])
    op.create_table(
        "bulk_outputs",
        sa.Column("output_id", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("procedure", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("person_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("output_id", name=op.f("pk_bulk_outputs")),
    )
    op.create_table(
        "media_exports",
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("witness_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("medium", sa.String(length=40), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("output_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_media_exports")),
    )
    make_append_only("media_exports")
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(
        counters, [{"name": n, "value": 0} for n in ("work_order", "measure", "alert", "output", "media")]
    )


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name IN ('work_order', 'measure', 'alert', 'output', 'media')")
    op.drop_table("media_exports")
    op.drop_table("bulk_outputs")
    op.drop_index("ix_alerts_open", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_protection_measures_subject", table_name="protection_measures")
    op.drop_table("protection_measures")
    op.drop_index("ix_work_orders_contractor", table_name="work_orders")
    op.drop_table("work_orders")
    op.execute("ALTER TABLE staff DROP COLUMN valid_until")  # in place (SQLite ≥ 3.35): sessions' FK stays
