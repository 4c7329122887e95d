"""The 中間サーバー's ports: its store (adapters/store.py) and the CS's side of the 符号 request, as its services see
them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from juki.intermediate.domain.provision_log import Fields, Stored


class LinkCodeRequester(Protocol):
    """The CS's link to J-LIS for the 符号 (番号法施行令20条): the 個人番号 and the network's serial, handed over.
    Raises when it cannot take the request now (the next pass hands it again with the same serial)."""

    def request(self, serial: str, my_number: str) -> None: ...


@dataclass(frozen=True)
class PersonState:
    addressee_number: str
    register_version: int
    household_number: str | None
    relationship: str
    name: str
    removed: bool


@dataclass(frozen=True)
class Unified:
    unified_number: str
    link_code_state: str  # waiting, requested, issued
    link_code: str | None = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class Link:
    system_id: str
    addressee_number: str
    unified_number: str
    four_info: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class SerialRow:
    serial: str = field(repr=False)
    unified_number: str
    state: str  # taken, handed, issued, abandoned
    attempts: int
    taken_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Protection:
    addressee_number: str
    measure_id: str
    restriction: str
    action: str
    in_force_from: date
    in_force_until: date | None
    position: int

    def in_force(self, today: date) -> bool:
        return self.in_force_from <= today and (self.in_force_until is None or today < self.in_force_until)


@dataclass(frozen=True)
class Flag:
    addressee_number: str
    no_auto_reply: bool
    reason: str
    staff_id: str
    at: datetime


@dataclass(frozen=True)
class ReplicaRecord:
    id: int
    unified_number: str
    info_code: str
    record_version: int
    operation: str
    items: Mapping[str, Mapping[str, Any]]
    message_id: str
    registered_at: datetime


@dataclass(frozen=True)
class QueryRow:
    id: int
    query_id: str
    seq: int
    requester: str
    legal_basis: str
    procedure: str
    information: str
    items_asked: tuple[str, ...] | None
    link_code: str = field(repr=False)
    unified_number: str | None
    state: str
    status: str
    message: str
    answer_items: tuple[str, ...]
    replica_id: int | None
    due: bool
    attempts: int
    received_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    review_reason: str | None = field(repr=False)


@dataclass(frozen=True)
class LogLine:
    action: str
    result: str
    message: str
    staff_id: str = "ims"
    terminal: str = "ims-server"
    addressee_number: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ProvisionFilter:
    start: datetime | None = None
    end: datetime | None = None
    requester: str | None = None
    unified_numbers: Sequence[str] | None = None
    actions: Sequence[str] | None = None
    limit: int = 500


class ImsStore(Protocol):
    now: datetime

    # the register's events
    def seen(self, addressee_number: str, register_version: int) -> bool: ...
    def mark_seen(self, addressee_number: str, register_version: int, position: int) -> None: ...
    def protection_taken(self, position: int, addressee_number: str) -> bool: ...
    def add_protection(self, protection: Protection) -> None: ...
    def protections(self, addressee_number: str) -> list[Protection]: ...
    def person(self, addressee_number: str) -> PersonState | None: ...
    def put_person(self, person: PersonState) -> None: ...
    def members(self, household_number: str) -> list[PersonState]: ...
    def householder(self, household_number: str) -> str | None: ...
    def put_household(self, household_number: str, householder: str | None) -> None: ...
    def person_count(self) -> int: ...
    def persons_without_unified(self, system_id: str) -> int: ...

    # 団体内統合宛名
    def seal_my_number(self, my_number: str) -> tuple[str, str]: ...
    def next_sequence(self, name: str) -> int: ...
    def unified_by_index(self, index: str) -> Unified | None: ...
    def unified(self, unified_number: str) -> Unified | None: ...
    def unified_by_link_code(self, link_code: str) -> Unified | None: ...
    def add_unified(self, unified_number: str, sealed: str, index: str) -> None: ...
    def change_my_number(self, unified_number: str, sealed: str, index: str) -> None: ...
    def my_number(self, unified_number: str) -> str: ...
    def set_link_code(
        self, unified_number: str, state: str, link_code: str | None = None, *, expected: str | None = None
    ) -> bool:
        """False when `expected` is given and the 符号's state is not that (nothing changed)."""
        ...

    def link_codes_waiting_since(self, before: datetime) -> int:
        """Unified numbers made before `before` that still have no 符号."""
        ...

    def link_code_counts(self) -> dict[str, int]: ...
    def waiting_for_serials(self, limit: int) -> list[Unified]: ...
    def link(self, system_id: str, addressee_number: str) -> Link | None: ...
    def put_link(
        self, system_id: str, addressee_number: str, unified_number: str, four_info: Mapping[str, Any]
    ) -> None: ...
    def links_of(self, unified_number: str) -> list[Link]: ...

    # 処理通番
    def add_serial(self, serial: str, unified_number: str) -> None: ...
    def serial(self, serial: str) -> SerialRow | None: ...
    def set_serial(self, serial: str, state: str, attempted: bool = False) -> None: ...
    def serials(self, unified_number: str | None = None, states: Sequence[str] = ()) -> list[SerialRow]: ...

    # the 副本
    def current_replica(self, unified_number: str, info_code: str) -> ReplicaRecord | None: ...
    def replica(self, replica_id: int) -> ReplicaRecord | None: ...
    def add_replica(self, unified_number: str, info_code: str, version: int, operation: str,
                    items: Mapping[str, Any], message_id: str) -> None: ...  # fmt: skip
    def record_message(self, message_id: str, result: str, reason: str, segments: int) -> None: ...

    # 自動応答不可 by hand
    def add_flag(self, flag: Flag) -> None: ...
    def flag(self, addressee_number: str) -> Flag | None: ...

    # 照会
    def queries_by_id(self, query_id: str) -> list[QueryRow]: ...
    def query(self, row_id: int) -> QueryRow | None: ...
    def add_query(self, values: Mapping[str, Any]) -> int: ...
    def change_query(self, row_id: int, values: Mapping[str, Any]) -> None: ...
    def due_answers(self, received_before: datetime | None = None) -> list[QueryRow]: ...
    def review_queue(self, received_before: datetime | None = None) -> list[QueryRow]: ...

    # 情報提供等記録
    def append_provision(self, make: Callable[[int], Fields]) -> Stored: ...
    def provision_entries(self, where: ProvisionFilter) -> list[Stored]: ...
    def provision_chain(self) -> tuple[list[Stored], int]: ...

    # the network's inbox cursor, and the log
    def cursor(self, name: str) -> int: ...
    def set_cursor(self, name: str, position: int) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def log_lines(self, limit: int = 200) -> list[LogLine]: ...


ImsTransaction = Callable[[], AbstractContextManager[ImsStore]]
