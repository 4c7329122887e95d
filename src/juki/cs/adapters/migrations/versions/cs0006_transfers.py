"""転出証明書情報 and 転入通知 between cities (特例転入)

Revision ID: cs0006
Revises: cs0005
Create Date: 2026-12-06 05:00:00
"""

revision = "cs0006"
down_revision = "cs0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
