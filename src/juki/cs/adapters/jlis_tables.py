"""The CS's J-LIS story (docs/cs-jlis.md) on the CS store's connection: `cs_jlis_events` (each step of a block of
住民票コード, a 個人番号 request, an answer of the feed, a 送付先情報 record) and `cs_jlis_stock` (the stock as the CS
last saw it, a row when it changed). Both append-only (migration cs0008): a thing's state is its latest row.

No 個人番号 is ever in them: an answer is kept by its request id, place and outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table, func, insert, select

from juki.cs.adapters.store import SqlCsStore
from juki.cs.adapters.tables import metadata
from juki.cs.services.jlis import (
    ANSWER,
    ANSWER_DONE,
    BLOCK,
    ERROR_EVENTS,
    RECEIVED,
    JlisEvent,
    JlisStore,
    StockSeen,
)
from juki.cs.services.ports import CsStore

TZ = DateTime(timezone=True)

events = Table(
    "cs_jlis_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("subject", String(10), nullable=False),  # block, request, answer, mailing
    Column("ref", String(64), nullable=False),
    Column("event", String(20), nullable=False),
    Column("resident_code", String(11)),
    Column("seq", Integer),  # an answer's place in J-LIS's feed
    Column("attempts", Integer),
    Column("next_attempt_at", TZ),
    Column("code", String(60)),
    Column("item", String(60)),
    Column("detail", JSON),
    Index("ix_cs_jlis_events_subject_ref_id", "subject", "ref", "id"),
    Index("ix_cs_jlis_events_subject_seq", "subject", "seq"),
    Index("ix_cs_jlis_events_event", "event"),
)

stock = Table(
    "cs_jlis_stock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("available", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
)

e = events.c


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _event(r: Any) -> JlisEvent:
    return JlisEvent(r.subject, r.ref, r.event, r.resident_code, r.seq, r.attempts, _aware(r.next_attempt_at),
                     r.code, r.item, r.detail, _aware(r.at), r.id)  # fmt: skip


class SqlJlisStore:
    """services/jlis.JlisStore in the CS store's transaction (the same connection and time)."""

    def __init__(self, store: SqlCsStore) -> None:
        self._conn, self.now = store.conn, store.now

    def add(self, event: JlisEvent) -> None:
        values = {k: v for k, v in event.__dict__.items() if k not in ("id", "at")}
        values["detail"] = dict(event.detail) if event.detail is not None else None
        self._conn.execute(insert(events).values(at=self.now, **values))

    def _latest_ids(self, subject: str) -> Any:
        return select(func.max(e.id)).where(e.subject == subject).group_by(e.ref)

    def latest(self, subject: str, refs: Sequence[str]) -> dict[str, JlisEvent]:
        found: dict[str, JlisEvent] = {}
        wanted = sorted(set(refs))
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            ids = select(func.max(e.id)).where(e.subject == subject, e.ref.in_(chunk)).group_by(e.ref)
            for row in self._conn.execute(select(events).where(e.id.in_(ids))):
                found[row.ref] = _event(row)
        return found

    def blocks(self) -> list[JlisEvent]:
        rows = self._conn.execute(select(events).where(e.id.in_(self._latest_ids(BLOCK))))
        firsts = {
            str(ref): int(first)
            for ref, first in self._conn.execute(
                select(e.ref, func.min(e.id)).where(e.subject == BLOCK).group_by(e.ref)
            )
        }
        return sorted((_event(r) for r in rows), key=lambda ev: firsts[ev.ref])

    def received(self, ref: str) -> JlisEvent | None:
        row = self._conn.execute(
            select(events).where(e.subject == BLOCK, e.ref == ref, e.event == RECEIVED).order_by(e.id.desc())
        ).first()
        return None if row is None else _event(row)

    def cursor(self) -> int:
        done = select(func.max(e.seq)).where(e.subject == ANSWER, e.event.in_(ANSWER_DONE))
        return int(self._conn.execute(done).scalar() or 0)

    def errors(self, limit: int) -> tuple[list[JlisEvent], int]:
        where = e.event.in_(ERROR_EVENTS)
        total = int(self._conn.execute(select(func.count()).select_from(events).where(where)).scalar_one())
        rows = self._conn.execute(select(events).where(where).order_by(e.id.desc()).limit(limit))
        return [_event(r) for r in rows], total

    def see_stock(self, available: int, threshold: int) -> None:
        self._conn.execute(insert(stock).values(at=self.now, available=available, threshold=threshold))

    def last_stock(self) -> StockSeen | None:
        row = self._conn.execute(select(stock).order_by(stock.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        at = _aware(row.at)
        assert at is not None
        return StockSeen(at, row.available, row.threshold)


def of(store: CsStore) -> JlisStore:
    """The J-LIS store in the CS store's transaction."""
    if not isinstance(store, SqlCsStore):  # as media_tables.of: the tables live beside the SQL store's
        raise TypeError("the J-LIS store needs the CS's SQL store")
    return SqlJlisStore(store)
