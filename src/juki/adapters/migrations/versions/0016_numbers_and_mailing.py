"""住民票コード stock, 個人番号 requests to J-LIS, and the 送付先情報 for the 個人番号通知書

- `resident_code_stock`: the unused 住民票コード J-LIS gave the city through the CS (住基法30条の2第2項, 標準仕様書
  j870), one row per code with the block it came in; `resident_code_uses`: a code taken from it, once (its primary
  key is the guard: two filings cannot take the same code). A code is available while it has no use.
- `my_number_requests`: each 個人番号 生成要求 (番号法8条) or 変更請求 (番号法7条2項) the register made of J-LIS, through
  the CS; `my_number_request_answers`: how each was closed (the number assigned by the filing named, or refused).
  A request without an answer waits: the counter lists those persons.
- `mailing_records`: the 送付先情報 built when a number is assigned (個人番号カード省令23条の2), its 31 items without
  any 個人番号; `mailing_record_events`: what became of it (released by a clerk, corrected, delivered to J-LIS,
  refused by J-LIS with the item). `delivery_residences`: a 居所 a person under 支援措置 registered for delivery.

All of them are append-only on both engines: state is the latest event, never an update.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TABLES = (
    "resident_code_stock",
    "resident_code_uses",
    "my_number_requests",
    "my_number_request_answers",
    "mailing_records",
    "mailing_record_events",
    "delivery_residences",
)


def upgrade() -> None:
    op.create_table(
        "resident_code_stock",
        sa.Column("code", sa.String(11), primary_key=True),
        sa.Column("block_id", sa.String(40), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_resident_code_stock_block_id", "resident_code_stock", ["block_id"])
    op.create_table(
        "resident_code_uses",
        sa.Column("code", sa.String(11), sa.ForeignKey("resident_code_stock.code"), primary_key=True),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("filing_id", sa.String(40), nullable=False),
        sa.Column("used_at", TS, nullable=False),
    )
    op.create_table(
        "my_number_requests",
        sa.Column("request_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("resident_code", sa.String(11), nullable=False),
        sa.Column("filing_id", sa.String(40), nullable=False),
        sa.Column("staff_id", sa.String(40), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_my_number_requests_addressee_number", "my_number_requests", ["addressee_number"])
    op.create_table(
        "my_number_request_answers",
        sa.Column(
            "request_id",
            sa.String(40),
            sa.ForeignKey("my_number_requests.request_id"),
            primary_key=True,
        ),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("filing_id", sa.String(40), nullable=True),
        sa.Column("code", sa.String(60), nullable=True),
        sa.Column("answered_at", TS, nullable=False),
    )
    op.create_table(
        "mailing_records",
        sa.Column("record_id", sa.String(40), primary_key=True),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("resident_code", sa.String(11), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=True),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("print_category", sa.String(20), nullable=False),
        sa.Column("special_circumstance", sa.String(20), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("hold_reason", sa.String(60), nullable=True),
        sa.Column("built_at", TS, nullable=False),
    )
    op.create_index("ix_mailing_records_addressee_number", "mailing_records", ["addressee_number"])
    op.create_table(
        "mailing_record_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(40), sa.ForeignKey("mailing_records.record_id"), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("staff_id", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON, nullable=True),
    )
    op.create_index("ix_mailing_record_events_record_id_id", "mailing_record_events", ["record_id", "id"])
    op.create_table(
        "delivery_residences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("postal_code", sa.String(8), nullable=True),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("staff_id", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_delivery_residences_addressee_number_id", "delivery_residences", ["addressee_number", "id"]
    )
    make_append_only(*TABLES)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
