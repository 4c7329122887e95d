"""What the services of the numbers need of storage: the 住民票コード stock and the 個人番号 requests
(`uow.numbers`, adapters/number_store.py), and the 送付先情報 (`uow.mailing`, adapters/mailing_store.py)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from juki.domain.mailing import MailingRecord, StoredResidence


@dataclass(frozen=True)
class NumberRequest:
    """A 個人番号 request made of J-LIS (生成 or 変更) and not yet answered."""

    request_id: str
    kind: str  # 生成 (番号法8条) or 変更 (7条2項)
    addressee_number: str
    resident_code: str
    filing_id: str
    requested_at: datetime


class NumberStore(Protocol):
    def in_stock(self, codes: Iterable[str]) -> set[str]:
        """Those of `codes` already in the stock (used or not)."""
        ...

    def held(self, codes: Iterable[str]) -> set[str]:
        """Those of `codes` a record holds, active or removed."""
        ...

    def add_stock(self, block_id: str, codes: Iterable[str], at: datetime) -> None: ...
    def available(self) -> int:
        """How many codes of the stock nobody took and no record holds."""
        ...

    def add_request(self, values: dict[str, Any]) -> None: ...
    def open_request(self, request_id: str) -> NumberRequest | None:
        """The request, when it is still open (made and not answered)."""
        ...

    def open_request_of(self, addressee_number: str) -> NumberRequest | None: ...
    def open_requests(self, limit: int) -> list[NumberRequest]:
        """Open requests, oldest first."""
        ...

    def answer(self, values: dict[str, Any]) -> None: ...


class MailingStore(Protocol):
    """送付先情報 (services/mailing.py): built, held, released, delivered, refused — rows and events appended,
    never changed; a record's state is its latest event."""

    def add_record(self, values: dict[str, Any]) -> None: ...
    def add_event(self, values: dict[str, Any]) -> None: ...
    def record(self, record_id: str, lock: bool = False) -> MailingRecord | None:
        """The record and its events; `lock`: held against another transaction acting on it until this one ends
        (PostgreSQL's FOR UPDATE; SQLite's writers take the database's lock at BEGIN)."""
        ...

    def records(self, states: Collection[str], limit: int, offset: int = 0) -> list[MailingRecord]:
        """Records whose state now is one of `states`, oldest first (from the `offset`-th)."""
        ...

    def open_records_of(self, addressee_number: str) -> list[MailingRecord]:
        """A person's records not delivered yet and not replaced (held, ready, released), locked as `record`."""
        ...

    def add_residence(self, values: dict[str, Any]) -> None: ...
    def residence(self, addressee_number: str) -> StoredResidence | None:
        """The person's latest 居所 registration (its `residence` None when it was ended), or None if never."""
        ...
