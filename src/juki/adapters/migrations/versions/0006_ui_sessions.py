"""Clerk UI sessions: idle lock and CSRF

Deliberately empty. The UI keeps its per-session state (last activity, lock, CSRF secret, chosen 事務) in a cookie
sealed with AES-GCM under a key held only in the server's memory (src/juki/web/ui/session.py); the existing
`sessions` table still decides whether a sign-in is valid (expiry, revocation, sign-out). A table written on every
page view would contend with filings on SQLite for nothing. The revision stays so the chain 0005 → 0006 is fixed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:20:00.000000
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
