"""Engine-neutral backups: every table as JSON lines (gzip), read in one consistent snapshot.

A backup taken from SQLite restores into PostgreSQL and back; the format follows the tables, so a restore
only needs the same migration level.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Engine, delete, func, insert, select, text

from juki.adapters import tables as t
from juki.domain.errors import InvalidField

FORMAT = "juki-backup/1"
# Every table, parents before children (foreign keys), so a restore inserts in this order.
ORDER = [table.name for table in t.metadata.sorted_tables]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _typed(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for col in t.metadata.tables[table].columns:
        value = row.get(col.name)
        if value is not None and isinstance(col.type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(col.type, Date):
            value = date.fromisoformat(value)
        out[col.name] = value
    return out


def dump(engine: Engine, out: Path) -> int:
    count = 0
    with engine.connect() as conn, gzip.open(out, "wt", encoding="utf-8") as fh:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        fh.write(json.dumps({"format": FORMAT}) + "\n")
        for name in ORDER:
            table = t.metadata.tables[name]
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings():
                fh.write(
                    json.dumps({"t": name, "r": {k: _plain(v) for k, v in row.items()}}, ensure_ascii=False)
                )
                fh.write("\n")
                count += 1
    return count


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        if header.get("format") != FORMAT:
            raise ValueError("not a juki backup")
        for line in fh:
            item = json.loads(line)
            yield item["t"], item["r"]


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        used = sum(
            conn.execute(select(func.count()).select_from(t.metadata.tables[n])).scalar_one()
            for n in ("residents", "staff", "operation_log")
        )
    return used == 0


def load(engine: Engine, path: Path) -> int:
    """Load a backup into an empty register (same migration level)."""
    if not is_empty(engine):
        raise InvalidField("復元先の住民基本台帳が空ではありません", "db")
    count = 0
    batch: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        conn.execute(delete(t.counters))
        for name, row in _rows(path):
            batch.setdefault(name, []).append(_typed(name, row))
            count += 1
            if len(batch[name]) >= 2000:
                conn.execute(insert(t.metadata.tables[name]), batch.pop(name))
        for name in ORDER:
            if batch.get(name):
                conn.execute(insert(t.metadata.tables[name]), batch[name])
    return count
