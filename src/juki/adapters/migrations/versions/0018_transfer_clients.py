"""庁内連携: the department systems' OAuth clients, their tokens and assertions, and the transfer policy's versions

- `transfer_clients`: one department's business system (its system id, department, registered scopes; the secret is
  derived from the transfer key file and `secret_salt`, never stored); revoked, not deleted;
- `transfer_tokens`: access tokens as SHA-256 digests, short-lived, for the pull API and introspection (RFC 7662);
- `transfer_assertions`: the `jti` of each client assertion (RFC 7523) until it expires, so a replay is refused;
- `transfer_policy_versions`: the transfer policy's amendments, who made each and when (append-only).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from juki.adapters.append_only import make_append_only

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transfer_clients",
        sa.Column("client_id", sa.String(40), primary_key=True),
        sa.Column("system_id", sa.String(40), nullable=False),
        sa.Column("department", sa.String(60), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("secret_salt", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(40), nullable=True),
    )
    op.create_index("ix_transfer_clients_system_id", "transfer_clients", ["system_id"])
    op.create_table(
        "transfer_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(40), sa.ForeignKey("transfer_clients.client_id"), nullable=False),
        sa.Column("system_id", sa.String(40), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_transfer_tokens_expires_at", "transfer_tokens", ["expires_at"])
    op.create_table(
        "transfer_assertions",
        sa.Column("client_id", sa.String(40), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("ix_transfer_assertions_expires_at", "transfer_assertions", ["expires_at"])
    op.create_table(
        "transfer_policy_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("changed_by", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
    )
    make_append_only("transfer_policy_versions")


def downgrade() -> None:
    for table in ("transfer_policy_versions", "transfer_assertions", "transfer_tokens", "transfer_clients"):
        op.drop_table(table)
