"""Data-subject requests (個人情報保護法 76条・90条・98条): 開示・訂正・利用停止請求, and indexes for one person's log and outbox entries

- `subject_requests` and its counter.
- `ix_outbox_addressee`: the outbox rows of one person (the change feed the disclosure package lists).
- `ix_operation_log_targets` (PostgreSQL only): a GIN index on `targets::jsonb`, so `targets::jsonb @> '["n"]'`
  finds the entries about one person without reading the log. SQLite has no index for a value inside a JSON
  array; there the package's query narrows by time (adapters/subject_request_store.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("requester_type", sa.String(length=30), nullable=False),
        sa.Column("requester_name", sa.Text(), nullable=False),
        sa.Column("requester_relationship", sa.Text(), nullable=True),
        sa.Column("identity_document", sa.String(length=60), nullable=False),
        sa.Column("authority_document", sa.String(length=60), nullable=True),
        sa.Column("identity_checked_by", sa.String(length=40), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("initial_due_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("request_text", sa.Text(), nullable=False),
        sa.Column("include_my_number", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("extension_days", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("extended_by", sa.String(length=40), nullable=True),
        sa.Column("extended_at", TS, nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("correction_filing_id", sa.String(length=40), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answered_by", sa.String(length=40), nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_subject_requests")),
    )
    op.create_index("ix_subject_requests_addressee", "subject_requests", ["addressee_number"])
    op.create_index("ix_subject_requests_open", "subject_requests", ["state", "due_on"])
    op.create_index("ix_outbox_addressee", "outbox", ["addressee_number", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_operation_log_targets ON operation_log "
            "USING gin ((targets::jsonb) jsonb_path_ops)"
        )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
    op.bulk_insert(counters, [{"name": "subject_request", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'subject_request'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_operation_log_targets")
    op.drop_index("ix_outbox_addressee", table_name="outbox")
    op.drop_index("ix_subject_requests_open", table_name="subject_requests")
    op.drop_index("ix_subject_requests_addressee", table_name="subject_requests")
    op.drop_table("subject_requests")
