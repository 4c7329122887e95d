"""The 整合性確認's storage (標準仕様書 j1100): its runs, kept append-only (migration cs0005), and the file's rows
read from `cs_identity` as one stream in 住民票コード order, the 個人番号 opened with the CS's key.

A run keeps persons, item names and the kind of each difference, never a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, insert, select

from juki.cs.adapters import tables as t
from juki.cs.adapters.tables import metadata
from juki.cs.domain.items import MY_NUMBER, Items
from juki.cs.services.consistency import ConsistencyStore, KeptRun

if TYPE_CHECKING:
    from juki.cs.adapters.cs_db import CsDatabase
    from juki.cs.adapters.store import SqlCsStore

STREAM_ROWS = 5000

runs = Table(
    "cs_consistency_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("city_code", String(6), nullable=False),
    Column("result", String(40), nullable=False),  # ok, or the refusal's code (consistency_file_tampered …)
    Column("persons", Integer, nullable=False),  # persons in either file
    Column("ours_rows", Integer),
    Column("theirs_rows", Integer),
    Column("ours_sha256", String(64)),
    Column("theirs_sha256", String(64)),
    Column("differences", JSON, nullable=False),  # [{"resident_code", "item", "kind"}]
    Column("queued", JSON, nullable=False),  # the error-queue entries made: [entry number]
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
    Index("ix_cs_consistency_runs_at", "at"),
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlConsistencyStore:
    """The 整合性確認's port (services/consistency.ConsistencyStore) on the CS store's connection: one
    transaction with the queue and the CS log."""

    def __init__(self, store: SqlCsStore) -> None:
        self.cs = store
        self._conn, self._vault = store.conn, store.vault

    def file_rows(self) -> Iterator[Items]:
        """Every person in the file's scope with a 住民票コード, in code order (binary: `C` on PostgreSQL),
        streamed (a server-side cursor on PostgreSQL), each row's 個人番号 opened."""
        i = t.identity.c
        order: Any = (
            i.resident_code.collate("C") if self._conn.dialect.name == "postgresql" else i.resident_code
        )
        query = (
            select(i["items"], i.my_number)
            .where(i.in_scope, i.resident_code.is_not(None))
            .order_by(order)
            .execution_options(yield_per=STREAM_ROWS)
        )
        decrypt = self._vault.decrypt
        for items, token in self._conn.execute(query):
            items[MY_NUMBER] = decrypt(token) if token else None
            yield items

    def addressee_of(self, resident_code: str) -> str | None:
        i = t.identity.c
        query = select(i.addressee_number).where(i.resident_code == resident_code, i.in_scope).limit(1)
        found = self._conn.scalar(query)
        return str(found) if found is not None else None

    def keep_run(self, run: KeptRun) -> None:
        self._conn.execute(insert(runs).values(**run.__dict__))

    def runs(self) -> list[KeptRun]:
        rows = self._conn.execute(select(runs).order_by(runs.c.id))
        return [_run(r) for r in rows]


def _run(r: Any) -> KeptRun:
    return KeptRun(
        _aware(r.at), r.city_code, r.result, r.persons, r.ours_rows, r.theirs_rows, r.ours_sha256,
        r.theirs_sha256, list(r.differences), list(r.queued), r.staff_id, r.terminal,
    )  # fmt: skip


@contextmanager
def transaction(db: CsDatabase) -> Iterator[SqlConsistencyStore]:
    """One CS transaction, seen through the 整合性確認's port."""
    with db.transaction() as store:
        yield SqlConsistencyStore(store)


def _conforms(store: SqlConsistencyStore) -> ConsistencyStore:
    """mypy's proof that the adapter is the port the service uses."""
    return store
