"""自己情報 (やりとり履歴): a resident's card sign-in (one-time challenges, sessions) and a supervisor's decisions about
the entries withheld from the history

- `my_challenges`: single use, short-lived; the resident's card signs one to sign in;
- `my_sessions`: by the token's SHA-256, bound to the card and the person, short-lived, ended on sign-out;
- `usage_withholding_decisions`: a release or an extension of a withheld entry, who and when (append-only).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "my_challenges",
        sa.Column("challenge_id", sa.String(40), nullable=False),
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_my_challenges")),
    )
    op.create_index("ix_my_challenges_expires_at", "my_challenges", ["expires_at"])
    op.create_table(
        "my_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(40), nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["serial"], ["kiosk_cards.serial"], name=op.f("fk_my_sessions_serial_kiosk_cards")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_my_sessions")),
    )
    op.create_index("ix_my_sessions_expires_at", "my_sessions", ["expires_at"])
    op.create_table(
        "usage_withholding_decisions",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("entry_key", sa.String(40), nullable=False),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(40), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_usage_withholding_decisions")),
    )
    op.create_index(
        "ix_usage_withholding_decisions_person", "usage_withholding_decisions", ["addressee_number"]
    )
    make_append_only("usage_withholding_decisions")


def downgrade() -> None:
    op.drop_index("ix_usage_withholding_decisions_person", table_name="usage_withholding_decisions")
    op.drop_table("usage_withholding_decisions")
    op.drop_index("ix_my_sessions_expires_at", table_name="my_sessions")
    op.drop_table("my_sessions")
    op.drop_index("ix_my_challenges_expires_at", table_name="my_challenges")
    op.drop_table("my_challenges")
