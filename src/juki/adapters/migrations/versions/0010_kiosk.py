"""証明書コンビニ交付: registered kiosks, residents' My Number cards, J-LIS's revoked serials,
one-time challenges and card sessions

`card_revocations` is append-only (triggers as in 0001/0009): a serial J-LIS revoked stays revoked.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("cert_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("registered_by", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", name=op.f("pk_kiosks")),
    )
    op.create_table(
        "kiosk_cards",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("locked_at", TS, nullable=True),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("registered_by", sa.String(length=40), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["addressee_number"],
            ["residents.addressee_number"],
            name=op.f("fk_kiosk_cards_addressee_number_residents"),
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_kiosk_cards")),
    )
    op.create_index("ix_kiosk_cards_addressee", "kiosk_cards", ["addressee_number"])
    op.create_table(
        "card_revocations",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_card_revocations")),
    )
    op.create_table(
        "kiosk_challenges",
        sa.Column("challenge_id", sa.String(length=40), nullable=False),
        sa.Column("kiosk_id", sa.String(length=32), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.kiosk_id"], name=op.f("fk_kiosk_challenges_kiosk_id_kiosks")
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_kiosk_challenges")),
    )
    op.create_index("ix_kiosk_challenges_expires_at", "kiosk_challenges", ["expires_at"])
    op.create_table(
        "kiosk_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("addressee_number", sa.String(length=10), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.kiosk_id"], name=op.f("fk_kiosk_sessions_kiosk_id_kiosks")
        ),
        sa.ForeignKeyConstraint(
            ["serial"], ["kiosk_cards.serial"], name=op.f("fk_kiosk_sessions_serial_kiosk_cards")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_kiosk_sessions")),
    )
    op.create_index("ix_kiosk_sessions_expires_at", "kiosk_sessions", ["expires_at"])
    make_append_only("card_revocations")


def downgrade() -> None:
    op.drop_index("ix_kiosk_sessions_expires_at", table_name="kiosk_sessions")
    op.drop_table("kiosk_sessions")
    op.drop_index("ix_kiosk_challenges_expires_at", table_name="kiosk_challenges")
    op.drop_table("kiosk_challenges")
    op.drop_table("card_revocations")
    op.drop_index("ix_kiosk_cards_addressee", table_name="kiosk_cards")
    op.drop_table("kiosk_cards")
    op.drop_table("kiosks")
