"""Structured facts in the operation log: what an entry is about, as data the audit reports read

`operation_log.facts` (JSON, NULL for entries written before): the entry's facts as keys and values — a search's
criteria (the field names, never the values), a list's size, an output's row count — so that the auditor's reports
read them as data instead of parsing `detail`, the sentence written for people. The hash chain covers `facts` when
an entry has them; entries without keep the hash they were written with.

A new column on an append-only table: SQLite's ADD COLUMN does not fire the UPDATE trigger.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("operation_log", sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # in place, keeping the table's triggers
        op.execute("ALTER TABLE operation_log DROP COLUMN facts")
    else:
        op.drop_column("operation_log", "facts")
