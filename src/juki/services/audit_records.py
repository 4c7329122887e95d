"""What the operation log's read side hands the auditor's reports: typed rows, built in the adapter
(adapters/audit_store.py) from the database's rows, so that the reports name their fields."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from juki.services.audit import Fact


@dataclass(frozen=True)
class LogRecord:
    """One stored entry of the operation log, without its chain hashes; `at` is UTC."""

    seq: int
    at: datetime
    staff_id: str
    staff_name: str
    role: str
    terminal: str
    procedure: str
    action: str
    targets: tuple[str, ...]
    my_number_shown: bool
    result: str
    detail: str
    facts: dict[str, Fact] | None  # None: written without facts


@dataclass(frozen=True)
class SignInTally:
    """Sign-in attempts (`auth:login`) of one account — and terminal, when counted per terminal — in a period.

    The account is the staff id logged, or the masked name typed for an unknown one. Times are UTC; a `first_ok_at`
    or `first_failed_at` is None when there was no such attempt."""

    staff_id: str
    terminal: str | None  # None: counted over every terminal
    staff_name: str
    role: str
    ok: int
    failed: int
    rate_limited: int
    attempts: int
    terminals: int
    first_ok_at: datetime | None
    last_ok_at: datetime | None
    first_failed_at: datetime | None
    last_failed_at: datetime | None


class AuditLogReader(Protocol):
    """The operation log's read side (adapters/audit_store.py `SqlAuditStore`)."""

    def entries(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        staff_id: str | None = None,
        action: str | None = None,
        action_prefix: str | None = None,
        target: str | None = None,
        result: str | None = None,
        terminal: str | None = None,
        my_number_shown: bool | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[LogRecord]: ...

    def stream(
        self,
        start: datetime,
        end: datetime,
        *,
        staff_id: str | None = None,
        actions: Sequence[str] = (),
        prefixes: Sequence[str] = (),
        results: Sequence[str] = (),
        facts_mention: Sequence[str] = (),
        by_staff: bool = False,
    ) -> Iterator[LogRecord]: ...

    def sign_ins(
        self, start: datetime, end: datetime, staff_id: str | None = None, by_terminal: bool = False
    ) -> list[SignInTally]: ...

    def relations(self, start: datetime, end: datetime) -> Iterator[tuple[str, str, datetime]]: ...
