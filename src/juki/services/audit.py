"""The operation log (操作ログ): one hash-chained entry for every read and write, written in the same transaction.

Each entry's hash covers the previous entry's hash and the entry's own fields, so an edited or deleted row
breaks the chain at that point; `verify` names the first broken entry.

An entry says what it did twice: `detail`, a sentence for people, and `facts`, the same as data for the auditor's
reports (a search's criteria names, never their values; counts). The hash covers `facts` only when an entry has
some, so an entry written without them (before migration 0015, or with nothing to say) keeps its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NotRequired, Protocol, TypedDict

from juki.domain.errors import redact
from juki.policy.roles import Actor

GENESIS = "0" * 64

Fact = str | int | bool | list[str]
Facts = Mapping[str, Fact]


@dataclass(frozen=True)
class LogEntry:
    action: str
    targets: Sequence[str] = ()
    my_number_shown: bool = False
    result: str = "ok"
    detail: str = ""  # for people
    procedure: str = ""  # empty: the procedure the actor acts for
    facts: Facts = field(default_factory=dict)  # for the reports: names and counts, never a searched value


class EntryFields(TypedDict):
    """An entry's hashed fields, as stored (`operation_log`)."""

    seq: int
    at: datetime
    staff_id: str
    staff_name: str
    role: str
    terminal: str
    procedure: str
    action: str
    targets: list[str]
    my_number_shown: bool
    result: str
    detail: str
    facts: NotRequired[dict[str, Fact]]  # absent (NULL) when the entry has none


def _redacted(value: Fact) -> Fact:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def entry_fields(seq: int, at: datetime, actor: Actor, entry: LogEntry) -> EntryFields:
    fields: EntryFields = {
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
    if entry.facts:
        fields["facts"] = {k: _redacted(v) for k, v in entry.facts.items()}
    return fields


def utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones in the session's zone."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def chain_hash(prev_hash: str, fields: EntryFields) -> str:
    body = {**fields, "at": utc(fields["at"]).isoformat(timespec="microseconds")}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class StoredEntry(Protocol):
    """An operation_log row as the chain check reads it."""

    seq: int
    at: datetime
    staff_id: str
    staff_name: str
    role: str
    terminal: str
    procedure: str
    action: str
    targets: list[str]
    my_number_shown: bool
    result: str
    detail: str
    facts: dict[str, Fact] | None
    prev_hash: str
    hash: str


def stored_fields(row: StoredEntry) -> EntryFields:
    fields: EntryFields = {
        "seq": row.seq,
        "at": row.at,
        "staff_id": row.staff_id,
        "staff_name": row.staff_name,
        "role": row.role,
        "terminal": row.terminal,
        "procedure": row.procedure,
        "action": row.action,
        "targets": row.targets,
        "my_number_shown": row.my_number_shown,
        "result": row.result,
        "detail": row.detail,
    }
    if row.facts:  # hashed only when present: entries without facts keep the hash they were written with
        fields["facts"] = row.facts
    return fields


def first_broken(rows: Iterable[StoredEntry], last_seq: int) -> tuple[int, int | None]:
    """Walk the chain in order; return (entries intact, seq of the first bad or missing entry, or None).

    `last_seq` is the log counter: entries cut off the end leave the chain intact but fewer than counted.
    """
    prev = GENESIS
    count = 0
    expected_seq = 1
    for row in rows:
        if (
            row.seq != expected_seq
            or row.prev_hash != prev
            or chain_hash(prev, stored_fields(row)) != row.hash
        ):
            return count, row.seq
        prev = row.hash
        count += 1
        expected_seq += 1
    return (count, None) if count == last_seq else (count, count + 1)
