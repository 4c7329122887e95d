"""The 情報提供等記録 (provision_log, 番号法23条): every 照会 and every answer to it, hash-chained like the register's
operation log (services/audit.py) and kept seven years.

Each entry's hash covers the previous entry's hash and the entry's own fields, so an edited or deleted entry
breaks the chain there; `first_broken` names it. An entry names the person by the 符号 the network used and the
統合宛名番号, never by a My Number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

GENESIS = "0" * 64
RETENTION_YEARS = 7  # 番号法施行令29条: 情報提供等の記録は7年間保存

# What an entry records (`action`), and the words people read.
RECEIVED, ANSWERED, REFUSED, HELD, RELEASED, WITHHELD = (
    "query", "answered", "refused", "held", "released", "withheld",
)  # fmt: skip
ACTION_WORDS: Mapping[str, str] = {
    RECEIVED: "照会受付",
    ANSWERED: "提供",
    REFUSED: "提供拒否",
    HELD: "自動応答保留",
    RELEASED: "審査の上提供",
    WITHHELD: "審査の上不提供",
}


@dataclass(frozen=True)
class Fields:
    """An entry's hashed fields."""

    seq: int
    at: datetime
    action: str
    query_id: str
    requester: str
    legal_basis: str
    procedure: str
    information: str
    link_code: str = field(repr=False)
    unified_number: str | None
    items: tuple[str, ...]
    status: str
    message: str
    staff_id: str
    retain_until: date

    def canonical(self) -> str:
        body: dict[str, Any] = {
            **{k: getattr(self, k) for k in self.__dataclass_fields__},
            "at": utc(self.at).isoformat(timespec="microseconds"),
            "retain_until": self.retain_until.isoformat(),
            "items": list(self.items),
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def chain_hash(prev_hash: str, fields: Fields) -> str:
    return hashlib.sha256((prev_hash + fields.canonical()).encode()).hexdigest()


def retain_until(day: date) -> date:
    """Seven years after the day of the entry (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + RETENTION_YEARS)
    except ValueError:
        return day.replace(year=day.year + RETENTION_YEARS, day=28)


@dataclass(frozen=True)
class Stored:
    fields: Fields
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    entries: int  # intact entries from the start
    first_broken: int | None  # seq of the first edited, missing or reordered entry

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify(rows: Iterable[Stored], last_seq: int) -> Verification:
    """Walk the chain in order. `last_seq` is the log's counter: entries cut off the end leave the chain intact but
    fewer than counted."""
    prev, count = GENESIS, 0
    for row in rows:
        if row.fields.seq != count + 1 or row.prev_hash != prev or chain_hash(prev, row.fields) != row.hash:
            return Verification(count, row.fields.seq)
        prev, count = row.hash, count + 1
    return Verification(count, None if count == last_seq else count + 1)
