"""WebAuthn credentials and one-time challenges (issue 3 §1) in SQL, read and written through the unit of work."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlWebAuthnStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
