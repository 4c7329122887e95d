"""転出証明書情報 and 転入通知 between cities (特例転入)

Revision ID: cs0006
Revises: cs0005
Create Date: 2026-12-06 05:00:00
"""

import sqlalchemy as sa
from alembic import op

from juki.cs.adapters.append_only import make_append_only

revision = "cs0006"
down_revision = "cs0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
APPEND_ONLY = ("cs_telegrams_in",)
TABLES = ("cs_inbox_cursor", "cs_moveout_certificates", "cs_telegrams_in", "cs_telegrams_out")


def upgrade() -> None:
    _telegrams_out()
    op.create_table(
        "cs_telegrams_in",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("telegram_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_city_code", sa.String(6), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("items", sa.JSON()),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("code", sa.String(40)),
        sa.Column("item", sa.String(40)),
        sa.Column("message", sa.Text()),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_telegrams_in"),
        sa.UniqueConstraint("telegram_id", name="uq_cs_telegrams_in_telegram_id"),
    )
    op.create_index("ix_cs_telegrams_in_seq", "cs_telegrams_in", ["seq"])
    _certificates()
    op.create_table(
        "cs_inbox_cursor",
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("after", sa.Integer(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("city_code", name="pk_cs_inbox_cursor"),
    )
    make_append_only(*APPEND_ONLY)  # UPDATE and DELETE refused on both engines (docs/cs.md)


def _telegrams_out() -> None:
    op.create_table(
        "cs_telegrams_out",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("telegram_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("to_city_code", sa.String(6)),
        sa.Column("addressee_number", sa.String(10), nullable=False),
        sa.Column("resident_code", sa.String(11)),
        sa.Column("event_position", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("error_code", sa.String(40)),
        sa.Column("error_item", sa.String(40)),
        sa.Column("error_message", sa.Text()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cs_telegrams_out"),
        sa.UniqueConstraint("telegram_id", name="uq_cs_telegrams_out_telegram_id"),
    )
    op.create_index("ix_cs_telegrams_out_state", "cs_telegrams_out", ["state"])
    op.create_index(
        "ix_cs_telegrams_out_addressee_number", "cs_telegrams_out", ["addressee_number", "event_position"]
    )


def _certificates() -> None:
    op.create_table(
        "cs_moveout_certificates",
        sa.Column("certificate_id", sa.String(64), nullable=False),
        sa.Column("resident_code", sa.String(11), nullable=False),
        sa.Column("family_name_kana", sa.String(200), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("from_city_code", sa.String(6), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("provisional_protection", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("my_number", sa.Text()),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("addressee_number", sa.String(10)),
        sa.PrimaryKeyConstraint("certificate_id", name="pk_cs_moveout_certificates"),
    )
    op.create_index("ix_cs_moveout_certificates_resident_code", "cs_moveout_certificates", ["resident_code"])
    op.create_index(
        "ix_cs_moveout_certificates_kana_birth", "cs_moveout_certificates", ["family_name_kana", "birth_date"]
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
