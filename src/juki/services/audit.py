"""The operation log (操作ログ): one hash-chained entry for every read and write, written in the same transaction.

Each entry's hash covers the previous entry's hash and the entry's own fields, so an edited or deleted row
breaks the chain at that point; `verify` names the first broken entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from juki.domain.errors import redact
from juki.policy.roles import Actor

GENESIS = "0" * 64


@dataclass(frozen=True)
class LogEntry:
    action: str
    targets: Sequence[str] = ()
    my_number_shown: bool = False
    result: str = "ok"
    detail: str = ""
    procedure: str = ""  # empty: the procedure the actor acts for


def entry_fields(seq: int, at: datetime, actor: Actor, entry: LogEntry) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "staff_id": actor.staff_id,
        "staff_name": actor.name,
        "role": actor.role,
        "terminal": redact(actor.terminal),  # as the client named itself (X-Juki-Terminal)
        "procedure": entry.procedure or actor.procedure_name,
        "action": entry.action,
        "targets": list(entry.targets),
        "my_number_shown": entry.my_number_shown,
        "result": entry.result,
        "detail": redact(entry.detail),  # a My Number never enters the log, in any spelling
    }


def utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones in the session's zone."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = dict(fields, at=utc(fields["at"]).isoformat(timespec="microseconds"))
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


HASHED = (
    "seq",
    "at",
    "staff_id",
    "staff_name",
    "role",
    "terminal",
    "procedure",
    "action",
    "targets",
    "my_number_shown",
    "result",
    "detail",
)


def first_broken(rows: Iterable[Any], last_seq: int) -> tuple[int, int | None]:
    """Walk the chain in order; return (entries intact, seq of the first bad or missing entry, or None).

    `last_seq` is the log counter: entries cut off the end leave the chain intact but fewer than counted.
    """
    prev = GENESIS
    count = 0
    expected_seq = 1
    for row in rows:
        fields = {k: getattr(row, k) for k in HASHED}
        if row.seq != expected_seq or row.prev_hash != prev or chain_hash(prev, fields) != row.hash:
            return count, row.seq
        prev = row.hash
        count += 1
        expected_seq += 1
    return (count, None) if count == last_seq else (count, count + 1)
