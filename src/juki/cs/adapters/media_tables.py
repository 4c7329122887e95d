"""The manual fallback's storage (標準仕様書 j1090, docs/cs-media.md): the sending mode's switches, the media exports
and the answer files applied — each append-only (migration cs0007), on the CS store's connection, so that a switch,
an export or an answer file is one transaction with the queue and the CS log.

An export keeps its notices by entry, notice id, 住民票コード and 更新順番号: never an item's value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, insert, select

from juki.cs.adapters.store import SqlCsStore
from juki.cs.adapters.tables import metadata
from juki.cs.services.media import KeptAnswers, KeptExport, MediaStore, Mode
from juki.cs.services.ports import CsStore

TZ = DateTime(timezone=True)

modes = Table(
    "cs_sending_modes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("mode", String(8), nullable=False),  # link, media (cs/domain/media.py)
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
)

exports = Table(
    "cs_media_exports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("city_code", String(6), nullable=False),
    Column("file", String(200), nullable=False),
    Column("count", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("notices", JSON, nullable=False),  # [{"entry", "notice_id", "resident_code", "sequence"}]
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
)

answers = Table(
    "cs_media_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("result", String(40), nullable=False),  # ok, or the refusal's code
    Column("file", String(200), nullable=False),
    Column("sha256", String(64)),
    Column("export_id", Integer),
    Column("counts", JSON, nullable=False),  # {"acknowledged", "refused", "requeued", "skipped"}
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlMediaStore:
    """The media service's port (services/media.MediaStore) on the CS store's connection."""

    def __init__(self, store: SqlCsStore) -> None:
        self._conn, self._now = store.conn, store.now

    def mode(self) -> Mode:
        m = modes.c
        row = self._conn.execute(select(modes).order_by(m.id.desc()).limit(1)).first()
        return Mode() if row is None else Mode(row.mode, _aware(row.at), row.staff_id, row.terminal)

    def switch(self, mode: str, staff_id: str, terminal: str) -> None:
        self._conn.execute(
            insert(modes).values(at=self._now, mode=mode, staff_id=staff_id, terminal=terminal)
        )

    def keep_export(self, kept: KeptExport) -> int:
        values = {k: v for k, v in kept.__dict__.items() if k != "id"}
        return int(self._conn.execute(insert(exports).values(**values).returning(exports.c.id)).scalar_one())

    def export_of(self, sha256: str) -> KeptExport | None:
        row = self._conn.execute(select(exports).where(exports.c.sha256 == sha256)).first()
        return None if row is None else _export(row)

    def keep_answers(self, kept: KeptAnswers) -> None:
        self._conn.execute(insert(answers).values(**kept.__dict__))


def _export(r: Any) -> KeptExport:
    return KeptExport(_aware(r.at), r.city_code, r.file, r.count, r.sha256, list(r.notices), r.staff_id,
                      r.terminal, r.id)  # fmt: skip


def of(store: CsStore) -> MediaStore:
    """The media store in the CS store's transaction (the same connection and time)."""
    if not isinstance(store, SqlCsStore):  # as transfer_store.of: the tables live beside the SQL store's
        raise TypeError("the media store needs the CS's SQL store")
    return SqlMediaStore(store)
