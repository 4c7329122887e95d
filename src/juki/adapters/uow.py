"""SQL unit of work: a connection in a transaction, the reader over it, and the writers for log and outbox."""

from __future__ import annotations

from datetime import date, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from juki.adapters import tables as t
from juki.adapters.audit_store import SqlAuditStore
from juki.adapters.card_application_store import SqlCardApplicationStore
from juki.adapters.card_store import SqlCardStore
from juki.adapters.controls_store import SqlControlsStore
from juki.adapters.db import is_conflict
from juki.adapters.event_key import EventKey
from juki.adapters.mailing_store import SqlMailingStore
from juki.adapters.number_store import SqlNumberStore
from juki.adapters.queries import SqlQueries, seal_secrets
from juki.adapters.repository import (
    SqlRegisterReader,
    next_counter,
    write_outcome,
    write_protection_events,
)
from juki.adapters.staff_store import SqlStaffStore
from juki.adapters.subject_request_store import SqlSubjectRequestStore
from juki.adapters.vault import MyNumberVault
from juki.adapters.webauthn_store import SqlWebAuthnStore
from juki.domain.dates import today_jst
from juki.domain.errors import Conflict
from juki.domain.events import ProtectionEvent, RecordedBy
from juki.domain.register import Outcome, RegisterReader
from juki.policy.roles import Actor
from juki.services.audit import GENESIS, LogEntry, chain_hash, entry_fields
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
from juki.services.unit_of_work import utc_now


class SqlUnitOfWork:
    def __init__(
        self,
        engine: Engine,
        vault: MyNumberVault,
        today: date | None = None,
        now: datetime | None = None,
        event_key: EventKey | None = None,
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.event_key = event_key  # None: a unit of work that reads, or writes no register change
        self._today = today
        self._now = now
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        self.now = self._now or utc_now()
        self.conn = self.engine.connect()
        try:  # on SQLite, BEGIN waits for the write lock (IMMEDIATE, adapters/db.py)
            self.tx = self.conn.begin()
        except OperationalError as exc:
            self.conn.close()
            if is_conflict(exc):  # another unit of work held the lock past the busy timeout: try again
                raise Conflict("他の操作と競合しました。もう一度照会してください") from exc
            raise
        self.reader: RegisterReader = SqlRegisterReader(self.conn, self._today or today_jst(), self.vault)
        # Each store typed as its port, so mypy holds the SQL store to what the services call on it.
        self.queries: Queries = SqlQueries(self.conn, self.vault)
        self.staff: StaffStore = SqlStaffStore(self.conn)
        self.controls: ControlsStore = SqlControlsStore(self.conn)
        self.webauthn: WebAuthnStore = SqlWebAuthnStore(self.conn)
        self.subject_requests: SubjectRequestStore = SqlSubjectRequestStore(self.conn)
        self.audit: AuditStore = SqlAuditStore(self.conn)
        self.cards: CardStore = SqlCardStore(self.conn)  # コンビニ交付: kiosks, cards, challenges, sessions
        self.numbers: NumberStore = SqlNumberStore(self.conn)  # 住民票コード stock, 個人番号 requests
        self.mailing: MailingStore = SqlMailingStore(self.conn)  # 送付先情報
        self.card_applications: CardApplicationStore = SqlCardApplicationStore(self.conn)  # カードの交付申請
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self.tx.is_active:
                self.tx.rollback()
        finally:
            self.conn.close()
        if isinstance(exc, OperationalError | IntegrityError) and is_conflict(exc):
            raise Conflict("他の操作と競合しました。もう一度照会してください") from exc

    def write(self, outcome: Outcome, filing_id: str, actor: Actor) -> None:
        if self.event_key is None:
            raise RuntimeError("a unit of work without the event key cannot write register changes")
        by = RecordedBy(actor.staff_id, actor.terminal)
        write_outcome(self.conn, outcome, filing_id, by, self.now, self.vault, self.event_key)

    def write_protection(self, events: list[ProtectionEvent], actor: Actor) -> None:
        """A measure that other systems keep, to the outbox in this transaction (no My Number: no event key)."""
        write_protection_events(
            self.conn, events, RecordedBy(actor.staff_id, actor.terminal), self.now, self.reader.today
        )

    def add_filing(self, values: dict[str, Any]) -> str:
        seq = next_counter(self.conn, "filing")
        filing_id = f"F{self.reader.today:%Y%m%d}-{seq:07d}"
        values = {**values, "secret_payload": seal_secrets(self.vault, values.get("secret_payload"))}
        self.conn.execute(insert(t.filings).values(filing_id=filing_id, recorded_at=self.now, **values))
        return filing_id

    def decide_filing(self, filing_id: str, values: dict[str, Any]) -> None:
        done = self.conn.execute(
            update(t.filings)
            .where(t.filings.c.filing_id == filing_id, t.filings.c.approval_state == "pending")
            .values(**values)
        )
        if done.rowcount != 1:
            raise Conflict("この職権処理は他の職員が決裁しました", "filing_id")

    def set_cursor(self, subscriber: str, position: int) -> None:
        c = t.subscriber_cursors.c
        done = self.conn.execute(
            update(t.subscriber_cursors).where(c.subscriber == subscriber).values(position=position)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(t.subscriber_cursors).values(subscriber=subscriber, position=position))

    def log(self, actor: Actor, entry: LogEntry) -> None:
        seq = next_counter(self.conn, "log")
        prev = self.conn.execute(
            select(t.operation_log.c.hash).where(t.operation_log.c.seq == seq - 1)
        ).scalar()
        fields = entry_fields(seq, self.now, actor, entry)
        self.conn.execute(
            insert(t.operation_log).values(
                prev_hash=prev or GENESIS, hash=chain_hash(prev or GENESIS, fields), **fields
            )
        )

    def commit(self) -> None:
        try:
            self.tx.commit()
        except DBAPIError as exc:
            if is_conflict(exc):
                raise Conflict("他の操作と競合しました。もう一度照会してください") from exc
            raise
