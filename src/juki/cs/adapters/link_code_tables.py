"""The CS's 符号取得の要求 (services/link_codes.py, docs/cs-jlis.md) on the CS store's connection:
`cs_link_code_requests` (migration cs0009), one row per 処理通番.

The 個人番号 is sealed with the CS's own key (the vault of the CS store, as the 本人確認情報ファイル's) in
`my_number`, with the vault's keyed index beside it (`my_number_index`: a repeat of the serial is compared without
opening anything). The sealed number is erased when the request is sent or refused — the CS keeps no number it no
longer needs; the index stays, so that a repeat is still recognised. The row's history is the CS log (`link_code`),
so the row itself changes state in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text, func, insert, select, update

from juki.cs.adapters.store import SqlCsStore
from juki.cs.adapters.tables import metadata
from juki.cs.jlis_wire import SERIAL_MAX
from juki.cs.services.link_codes import QUEUED, LinkCodeRequest, LinkCodeStore
from juki.cs.services.ports import CsStore

TZ = DateTime(timezone=True)

requests = Table(
    "cs_link_code_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("serial", String(SERIAL_MAX), nullable=False, unique=True),
    Column("my_number", Text),  # sealed (vault token); None once sent or refused
    Column("my_number_index", String(64), nullable=False),  # the vault's keyed index (HMAC-SHA256)
    Column("state", String(10), nullable=False),  # queued, sent, refused
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TZ),
    # J-LIS's last answer: accepted, duplicate, not_yet_known, … or a refusal's code.
    Column("answer", String(60)),
    Column("requested_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("ix_cs_link_code_requests_state_next_attempt_at", "state", "next_attempt_at"),
)

r = requests.c


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlLinkCodeStore:
    """services/link_codes.LinkCodeStore in the CS store's transaction (the same connection, time and vault)."""

    def __init__(self, store: SqlCsStore) -> None:
        self._conn, self._vault, self.now = store.conn, store.vault, store.now

    def _request(self, row: Any, *, opened: bool = False) -> LinkCodeRequest:
        requested_at = _aware(row.requested_at)
        assert requested_at is not None
        number = self._vault.decrypt(row.my_number) if opened and row.my_number else None
        return LinkCodeRequest(row.id, row.serial, row.state, row.attempts, _aware(row.next_attempt_at),
                               row.answer, requested_at, number)  # fmt: skip

    def find(self, serial: str) -> LinkCodeRequest | None:
        row = self._conn.execute(select(requests).where(r.serial == serial)).first()
        return None if row is None else self._request(row)

    def holds_number(self, serial: str, my_number: str) -> bool:
        index = self._conn.execute(select(r.my_number_index).where(r.serial == serial)).scalar()
        return index is not None and index == self._vault.index(my_number)

    def add(self, serial: str, my_number: str) -> int:
        sealed, index = self._vault.seal(my_number)
        done = self._conn.execute(insert(requests).values(
            serial=serial, my_number=sealed, my_number_index=index, state=QUEUED, attempts=0,
            requested_at=self.now, updated_at=self.now,
        ))  # fmt: skip
        key = done.inserted_primary_key
        assert key is not None
        return int(key[0])

    def due(self, now: datetime, limit: int) -> list[LinkCodeRequest]:
        rows = self._conn.execute(
            select(requests)
            .where(r.state == QUEUED, (r.next_attempt_at.is_(None)) | (r.next_attempt_at <= now))
            .order_by(r.id)
            .limit(limit)
        )
        return [self._request(row, opened=True) for row in rows]

    def wait(self, request_id: int, answer: str, attempts: int, next_attempt_at: datetime) -> None:
        self._conn.execute(update(requests).where(r.id == request_id).values(
            answer=answer, attempts=attempts, next_attempt_at=next_attempt_at, updated_at=self.now,
        ))  # fmt: skip

    def close(self, request_id: int, state: str, answer: str) -> None:
        self._conn.execute(update(requests).where(r.id == request_id).values(
            state=state, answer=answer[:60], my_number=None, next_attempt_at=None,
            attempts=r.attempts + 1, updated_at=self.now,
        ))  # fmt: skip

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(select(r.state, func.count()).group_by(r.state))
        return {str(state): int(n) for state, n in rows}


def of(store: CsStore) -> LinkCodeStore:
    """The 符号取得 requests' store in the CS store's transaction."""
    if not isinstance(store, SqlCsStore):  # as jlis_tables.of: the table lives beside the SQL store's
        raise TypeError("the link code store needs the CS's SQL store")
    return SqlLinkCodeStore(store)
