"""the 整合性確認 with the prefecture (標準仕様書 j1100)

Revision ID: cs0005
Revises: cs0004
Create Date: 2026-12-06 05:00:00
"""

revision = "cs0005"
down_revision = "cs0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
