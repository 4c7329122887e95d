"""Holds (抑止, 標準仕様書 j410): a measure names the operations it holds and how (error blocks, alert warns)

`protection_measures` gains `kind` (support = 支援措置, hold = other holds), `operations` (a list of `filing`,
`certificate`, `view`) and `level` (`error` / `alert`). Existing measures are 支援措置 on certificates and views,
blocking — what they meant before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 01:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "protection_measures",
        sa.Column("kind", sa.String(length=10), nullable=False, server_default="support"),
    )
    op.add_column(
        "protection_measures",
        sa.Column("operations", sa.JSON(), nullable=False, server_default='["certificate", "view"]'),
    )
    op.add_column(
        "protection_measures",
        sa.Column("level", sa.String(length=10), nullable=False, server_default="error"),
    )


def downgrade() -> None:
    for column in ("level", "operations", "kind"):
        op.execute(f"ALTER TABLE protection_measures DROP COLUMN {column}")
