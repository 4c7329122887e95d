"""The log of the CS's searches and queries (`cs_queries`, migration cs0004), and the reads a search makes of the
本人確認情報ファイル: its items without the 個人番号 (never decrypted for a search), by 住民票コード or all in scope.

A row says who searched (操作者ID, 操作端末ID, 事務), when, what kind (the CS's own file, or the national server),
the purpose stated, the NAMES of the items used as conditions — never their values — how many persons were answered
and how many were withheld (支援措置), and the result (ok, or the refusal's code). Append-only on both engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, insert, select

from juki.cs.adapters import tables as t
from juki.cs.adapters.store import SqlCsStore
from juki.cs.domain.items import MY_NUMBER
from juki.cs.services.ports import CsStore
from juki.cs.services.search import Held, QueryBook, QueryLine

queries = Table(
    "cs_queries",
    t.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(20), nullable=False),  # search (the CS's own file) / national (the national server)
    Column(
        "purpose", String(20)
    ),  # a key of cs.domain.search.PURPOSES; none for a search of the CS's own file
    Column("procedure", String(40), nullable=False),  # the 事務 the operator acted for
    Column("conditions", JSON, nullable=False),  # item names, e.g. ["氏名", "生年月日"]
    Column("result", String(40), nullable=False),  # ok, or the refusal's code
    Column("answered", Integer, nullable=False),
    Column("withheld", Integer, nullable=False),  # selected but not shown: under a 支援措置
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
    Index("ix_cs_queries_at", "at"),
)
APPEND_ONLY = ("cs_queries",)


class SqlQueryBook:
    """`QueryBook` over the CS store's connection: in the same transaction as the CS log line."""

    def __init__(self, store: SqlCsStore) -> None:
        self.conn, self.now = store.conn, store.now

    def persons(self, resident_code: str | None = None) -> list[Held]:
        i = t.identity.c
        query = (
            select(i.addressee_number, i.status, i["items"]).where(i.in_scope).order_by(i.addressee_number)
        )
        if resident_code is not None:
            query = query.where(i.resident_code == resident_code)
        return [_held(r) for r in self.conn.execute(query)]

    def addressees(self, resident_codes: list[str]) -> dict[str, str]:
        """Of these 住民票コード, those the CS holds (in scope or not), to their 宛名番号."""
        if not resident_codes:
            return {}
        i = t.identity.c
        rows = self.conn.execute(
            select(i.resident_code, i.addressee_number).where(i.resident_code.in_(resident_codes))
        )
        return {str(r.resident_code): str(r.addressee_number) for r in rows}

    def record(self, line: QueryLine) -> None:
        self.conn.execute(insert(queries).values(at=self.now, **line.values()))

    def lines(self) -> list[QueryLine]:
        rows = self.conn.execute(select(queries).order_by(queries.c.id))
        return [_line(r) for r in rows]


def _held(row: Any) -> Held:
    items = {k: v for k, v in dict(row.items).items() if k != MY_NUMBER}
    return Held(str(row.addressee_number), str(row.status), items)


def _line(r: Any) -> QueryLine:
    return QueryLine(
        r.kind, r.procedure, tuple(r.conditions), r.result, r.answered, r.withheld, r.staff_id, r.terminal,
        r.purpose,
    )  # fmt: skip


def book(store: CsStore) -> QueryBook:
    """The book of a CS transaction's store (the services' `BookOf`)."""
    if not isinstance(store, SqlCsStore):
        raise TypeError("the query book needs the CS's SQL store")
    return SqlQueryBook(store)


def _conforms(b: SqlQueryBook) -> QueryBook:
    """mypy's proof that the adapter is the port the search service uses."""
    return b
