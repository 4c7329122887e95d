"""What the services of the 個人番号カード at the counter need of storage and print (`uow.card_applications`,
adapters/card_application_store.py): the 交付申請 and the events of each, the 交付通知書 as PDF.

An application is one row that never changes; what becomes of it is a row per event, and its state is its latest
event (migration 0017): nothing is updated, nothing deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class CardApplicationEvent:
    """A step of an application: J-LIS's report, or the counter's."""

    state: str
    at: datetime
    staff_id: str
    serial: str | None  # the card's user certificate, from 市区町村到着 on
    detail: dict[str, Any]  # codes and counts only (documents' kinds, a reason code)


@dataclass(frozen=True)
class CardApplication:
    """A 交付申請 and where it stands (its latest event)."""

    application_id: str
    addressee_number: str
    kind: str
    channel: str
    applied_on: date
    created_at: datetime
    created_by: str
    state: str
    state_at: datetime
    serial: str | None  # as J-LIS reported it at 市区町村到着
    certificate: str | None  # that user certificate (PEM: public, it names nobody)


@dataclass(frozen=True)
class CardNotice:
    """個人番号カード交付通知書, as printed: to the applicant at their address, without any 個人番号."""

    application_id: str
    city: str
    mayor: str  # who sends it (the 市区町村長)
    office: str  # where the card is handed over
    postal_code: str | None
    address: str
    name: str
    kind: str  # 新規 / 再交付 / 更新
    applied_on: date
    arrived_on: date
    collect_by: date
    printed_on: date


class CardApplicationStore(Protocol):
    def next_id(self, day: date) -> str:
        """A new application id for `day` (`C` + date + number); the counter row stays locked until commit."""
        ...

    def add(self, values: dict[str, Any]) -> None: ...
    def add_event(self, values: dict[str, Any]) -> None: ...
    def get(self, application_id: str) -> CardApplication | None: ...
    def of_person(self, addressee_number: str) -> list[CardApplication]:
        """A person's applications, oldest first."""
        ...

    def open_of(self, addressee_number: str) -> CardApplication | None:
        """The person's application under way (neither handed over nor 廃止), if any."""
        ...

    def in_states(self, states: Iterable[str], limit: int) -> list[CardApplication]:
        """Applications whose state is one of `states`, oldest first."""
        ...

    def events(self, application_id: str) -> list[CardApplicationEvent]:
        """Its events, oldest first."""
        ...

    def serial_reported(self, serial: str) -> str | None:
        """The application whose card J-LIS reported with this certificate serial, if any."""
        ...

    def addressee_of(self, resident_code: str) -> str | None:
        """The present resident holding this 住民票コード (J-LIS names a person by it), if any."""
        ...

    def render_notice(self, notice: CardNotice) -> bytes:
        """The 交付通知書 as PDF (A4, the certificates' fonts)."""
        ...
