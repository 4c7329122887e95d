"""送付先情報 in SQL (`uow.mailing`; migration 0016, docs/mailing.md): the records built and what became of each."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlMailingStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
