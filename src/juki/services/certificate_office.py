"""What issuing certificates needs from outside the domain (the ports the composition root wires:
adapters/certificate_store.py), what an issue returns, and the city's certificate settings in force."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from juki.domain import certificate_settings as settings_rules
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.certificates import CertificateDocument, Issuer, Overflow
from juki.domain.errors import IssuanceNotFound
from juki.services.unit_of_work import UnitOfWork

ISSUANCE_NUMBER = re.compile(r"\d{8}-\d{6}")


class Rendered(Protocol):
    @property
    def pdf(self) -> bytes: ...
    @property
    def pages(self) -> int: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def overflows(self) -> tuple[Overflow, ...]: ...


class IssuanceStore(Protocol):
    def next_number(self, day: Any) -> str: ...
    def add(self, values: dict[str, Any]) -> None: ...
    def get(self, number: str) -> Any: ...
    def disposal(self, number: str) -> Any: ...
    def dispose(self, number: str, at: datetime, staff_id: str, reason: str) -> None: ...
    def for_person(self, addressee_number: str, limit: int = 500) -> list[Any]: ...
    def settings(self) -> Any: ...
    def add_settings(self, values: dict[str, Any]) -> None: ...
    def add_overflows(self, rows: list[dict[str, Any]]) -> None: ...
    def overflows_on(self, day: Any, limit: int = 2000) -> list[Any]: ...
    def overflow_count(self, issuance_number: str) -> int: ...


@dataclass(frozen=True)
class CertificateOffice:
    """What issuance needs from outside the domain (wired by the composition root: adapters.certificate_store)."""

    render: Callable[[Sequence[CertificateDocument]], Rendered]
    store: Callable[[UnitOfWork], IssuanceStore]  # the issuance store over a unit of work's transaction
    issuer: Issuer = field(default_factory=Issuer)
    verify_base_url: str = "http://localhost:8000/"
    # the 文字超過リスト as PDF: (title, day in wareki, city, lines) → bytes
    render_list: Callable[[str, str, str, Sequence[Mapping[str, Any]]], bytes] | None = None

    def verify_url(self, number: str) -> str:
        return f"{self.verify_base_url.rstrip('/')}/verify/{number}"


@dataclass(frozen=True)
class Issued:
    issuance_number: str  # the first copy's
    issuance_numbers: tuple[str, ...]  # one per copy (j1040)
    pdf: bytes
    sha256: str
    kind: str
    pages: int
    fee: int
    my_number_printed: bool
    issued_at: datetime
    items: tuple[str, ...]
    warnings: tuple[str, ...]  # 文字溢れ・外字 (j1070)
    overflows: int = 0  # lines put on the 文字超過リスト


def issuance(uow: UnitOfWork, office: CertificateOffice, number: str) -> Any:
    """The issuance record of a 発行番号 (`not_found` for a number of the wrong shape or none issued)."""
    if not ISSUANCE_NUMBER.fullmatch(number):
        raise IssuanceNotFound()
    row = office.store(uow).get(number)
    if row is None:
        raise IssuanceNotFound()
    return row


def versioned_settings(uow: UnitOfWork, office: CertificateOffice) -> tuple[int, CertificateSettings]:
    """The settings in force and their version (0: the defaults, never changed)."""
    row = office.store(uow).settings()
    if row is None:
        return 0, settings_rules.DEFAULT
    return row.version, settings_rules.parse(row.settings)


def settings_in(uow: UnitOfWork, office: CertificateOffice) -> CertificateSettings:
    """The settings in force, within a caller's transaction (issuance; the kiosk's offer names the fee)."""
    return versioned_settings(uow, office)[1]
