"""The unit of work: one transaction that a command's versions, its log entry and its outbox rows share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from juki.domain.events import ProtectionEvent
from juki.domain.register import Outcome, RegisterReader
from juki.policy.roles import Actor
from juki.services.audit import LogEntry
from juki.services.card_application_ports import CardApplicationStore
from juki.services.number_ports import MailingStore, NumberStore
from juki.services.ports import (
    AuditStore,
    CardStore,
    ControlsStore,
    Queries,
    StaffStore,
    SubjectRequestStore,
    WebAuthnStore,
)


class UnitOfWork(Protocol):
    reader: RegisterReader
    queries: Queries  # the read side (adapters.queries.SqlQueries): searches, history, lists
    staff: StaffStore  # accounts and sessions (adapters.staff_store.SqlStaffStore)
    controls: (
        ControlsStore  # work orders, 支援措置, alerts, bulk outputs, media records (adapters.controls_store)
    )
    webauthn: WebAuthnStore  # WebAuthn credentials and challenges (adapters.webauthn_store)
    subject_requests: SubjectRequestStore  # 開示・訂正・利用停止請求 (adapters.subject_request_store)
    audit: AuditStore  # the operation log's read side for the auditor (adapters.audit_store)
    cards: CardStore  # コンビニ交付: kiosks, cards, revocations, challenges, sessions (adapters.card_store)
    numbers: NumberStore  # 住民票コード stock, 個人番号 requests (adapters.number_store)
    mailing: MailingStore  # 送付先情報 (adapters.mailing_store)
    card_applications: CardApplicationStore  # 個人番号カードの交付申請 (adapters.card_application_store)
    now: datetime

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def write(self, outcome: Outcome, filing_id: str, actor: Actor) -> None: ...
    def write_protection(self, events: list[ProtectionEvent], actor: Actor) -> None: ...
    def add_filing(self, values: dict[str, Any]) -> str: ...
    def decide_filing(self, filing_id: str, values: dict[str, Any]) -> None: ...
    def set_cursor(self, subscriber: str, position: int) -> None: ...
    def log(self, actor: Actor, entry: LogEntry) -> None: ...
    def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


def utc_now() -> datetime:
    return datetime.now(UTC)
