"""Work orders, 支援措置, alerts, bulk outputs and media export records (issue 3 §1, §5, §6) in SQL, read and written through the unit of work."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlControlsStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
