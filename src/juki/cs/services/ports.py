"""What the CS's services need of its storage (cs/adapters/store.py implements it on SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from juki.cs.domain.items import Items

# The queue's states (docs/cs.md).
HELD = "held"  # waits behind an earlier entry of the same person that is in the error queue
ERROR = "error"
CORRECTED = "corrected"
SENT_BACK = "sent_back"
QUEUED = "queued"
SENT = "sent"  # handed to the client; without an answer yet (a restart sends it again)
ACKNOWLEDGED = "acknowledged"
DISCARDED = "discarded"  # sent back and superseded by the register's own correction: never sent
OPEN_ERRORS = (ERROR, CORRECTED, SENT_BACK)
BLOCKING = (*OPEN_ERRORS, HELD)  # a later change of the same person waits behind these
FINAL = (ACKNOWLEDGED, DISCARDED)


@dataclass(frozen=True)
class Current:
    """A person's current version in the 本人確認情報ファイル (items with the 個人番号, opened)."""

    addressee_number: str
    sequence: int
    register_version: int
    status: str
    in_scope: bool
    items: Items


@dataclass(frozen=True)
class Entry:
    """A row of the notice queue (items with the 個人番号, opened)."""

    id: int
    notice_id: str
    addressee_number: str
    change_reason: str
    kind: str
    event_position: int
    part: int
    register_version: int
    household_changed: bool
    sequence: int | None
    items: Items
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error_code: str | None
    error_item: str | None
    error_message: str | None
    send_back_reason: str | None


@dataclass(frozen=True)
class LogLine:
    action: str
    result: str
    message: str
    staff_id: str
    terminal: str
    entry: int | None = None
    addressee_number: str | None = None
    kind: str | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class NoticeLine:
    """A notice as the operator's overview lists it: no items, so no name and no 個人番号."""

    id: int
    addressee_number: str
    resident_code: str | None
    kind: str
    sequence: int | None
    state: str
    updated_at: datetime


@dataclass(frozen=True)
class KeptComparison:
    """A comparison with the register as the CS keeps it (j1100): when, how many persons, and each difference by
    宛名番号, 住民票コード and item name — never a value."""

    at: datetime
    persons: int
    differences: list[dict[str, str | None]]
    staff_id: str
    terminal: str


@dataclass(frozen=True)
class Restriction:
    """What one of the register's measures restricts of a person, as the CS keeps it (docs/cs.md): a 支援措置
    (`support`) or a 交付制限 (`certificate_hold`), by the register's measure id — never its reason."""

    addressee_number: str
    measure_id: str
    restriction: str
    action: str  # the measure's change this row came with: set, extended, confirmed, ended
    in_force_from: date
    in_force_until: date | None  # lifted on this day; None while the measure lasts
    ends_on: date
    provisional: bool
    position: int  # the register's outbox position it came at

    def in_force(self, today: date) -> bool:
        return self.in_force_from <= today and (self.in_force_until is None or today < self.in_force_until)


class CsStore(Protocol):
    now: datetime

    def seen(self, addressee_number: str, register_version: int) -> bool: ...
    def mark_seen(self, addressee_number: str, register_version: int, position: int) -> None: ...
    def restriction_taken(self, position: int, addressee_number: str) -> bool: ...
    def add_restriction(self, restriction: Restriction) -> None: ...
    def restrictions(self, addressee_number: str | None = None) -> list[Restriction]: ...
    def current(self, addressee_number: str) -> Current | None: ...
    def in_scope(self) -> list[Current]: ...
    def put_version(self, current: Current, kind: str) -> None: ...
    def leave_scope(self, addressee_number: str) -> None: ...
    def add_entry(self, values: dict[str, object]) -> int: ...
    def change_entry(self, entry_id: int, values: dict[str, object]) -> None: ...
    def entry(self, entry_id: int) -> Entry | None: ...
    def entries_of(self, addressee_number: str) -> list[Entry]: ...
    def waits(self, addressee_number: str) -> bool: ...
    def entries(self, states: tuple[str, ...]) -> list[Entry]: ...
    def persons_waiting(self) -> list[str]: ...
    def state_counts(self) -> dict[str, int]: ...
    def latest(self, limit: int) -> list[NoticeLine]: ...
    def log(self, line: LogLine) -> None: ...
    def log_lines(self) -> list[LogLine]: ...
    def keep_comparison(self, kept: KeptComparison) -> None: ...
    def latest_comparison(self) -> KeptComparison | None: ...


CsTransaction = Callable[[], AbstractContextManager[CsStore]]
