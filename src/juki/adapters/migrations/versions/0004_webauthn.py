"""WebAuthn credentials and challenges (section III: authenticated staff)

Authenticators, one-time challenges, administrators' enrolment codes, and which authenticator opened a session.
From this revision on a CS operator's session counts only if an authenticator opened it (services/auth.py), so
the sessions CS operators opened with password and one-time code alone stop working; they are also revoked here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 01:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webauthn_credentials",
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deactivated_at", TS, nullable=True),
        sa.Column("deactivated_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_webauthn_credentials_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_webauthn_credentials")),
    )
    op.create_index("ix_webauthn_credentials_staff", "webauthn_credentials", ["staff_id"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("challenge_id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("challenge", sa.String(length=100), nullable=False),
        sa.Column("enrolment_code_id", sa.String(length=40), nullable=True),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_webauthn_challenges_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("challenge_id", name=op.f("pk_webauthn_challenges")),
    )
    op.create_index("ix_webauthn_challenges_expires_at", "webauthn_challenges", ["expires_at"])
    op.create_table(
        "webauthn_enrolment_codes",
        sa.Column("code_id", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=40), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.staff_id"], name=op.f("fk_webauthn_enrolment_codes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("code_id", name=op.f("pk_webauthn_enrolment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_webauthn_enrolment_codes_code_hash")),
    )
    op.create_index("ix_webauthn_enrolment_codes_staff", "webauthn_enrolment_codes", ["staff_id"])
    op.create_table(
        "webauthn_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_hash"], ["sessions.token_hash"], name=op.f("fk_webauthn_sessions_token_hash_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["webauthn_credentials.credential_id"],
            name=op.f("fk_webauthn_sessions_credential_id_webauthn_credentials"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_webauthn_sessions")),
    )
    op.execute(
        "UPDATE sessions SET revoked = true WHERE revoked = false "
        "AND staff_id IN (SELECT staff_id FROM staff WHERE role = 'cs_operator')"
    )


def downgrade() -> None:
    op.drop_table("webauthn_sessions")
    op.drop_index("ix_webauthn_enrolment_codes_staff", table_name="webauthn_enrolment_codes")
    op.drop_table("webauthn_enrolment_codes")
    op.drop_index("ix_webauthn_challenges_expires_at", table_name="webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_webauthn_credentials_staff", table_name="webauthn_credentials")
    op.drop_table("webauthn_credentials")
