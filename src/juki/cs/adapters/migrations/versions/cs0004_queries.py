"""the CS's searches and queries of the national server (III(2)-3 リスク2)

Revision ID: cs0004
Revises: cs0003
Create Date: 2026-12-06 05:00:00
"""

revision = "cs0004"
down_revision = "cs0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
