"""Register events (docs/events.md): the outbox row carries the event the domain emitted

`outbox` gains `schema_version` (the event schema's version; 1 for rows written before events had a body),
`filed_on` (届出日), `payload` (the event's body: what happened, to whom, the record items after the change,
without a My Number) and `my_number_sealed` (the person's My Number, when the record holds one, encrypted with the
event key: only the consumers whose legal basis includes the number hold that key). Rows written before keep a NULL
body; readers build it from the version they point at (adapters/repository.read_outbox).

A new column on an append-only table: SQLite's ADD COLUMN does not fire the UPDATE trigger.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ("schema_version", "filed_on", "payload", "my_number_sealed")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("schema_version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("outbox", sa.Column("filed_on", sa.Date(), nullable=True))
    op.add_column("outbox", sa.Column("payload", sa.JSON(), nullable=True))
    op.add_column("outbox", sa.Column("my_number_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        if op.get_bind().dialect.name == "sqlite":  # in place, keeping the table's triggers
            op.execute(f"ALTER TABLE outbox DROP COLUMN {column}")
        else:
            op.drop_column("outbox", column)
