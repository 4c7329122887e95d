"""Data-subject requests (開示・訂正・利用停止請求, issue 3 §7) in SQL, read and written through the unit of work."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlSubjectRequestStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
