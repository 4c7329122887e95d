"""Reading what came out of the register's one door: the outbox, in commit order, each consumer at its own pace.

Each row is a register event the domain emitted (domain/events.py, documented in docs/events.md). The consumers
(the CS notices, the department transfer feed, the intermediate server copy, J-LIS mailing info) are subscribers:
each keeps a cursor, reads the events after it, and acknowledges what it has handled. Delivery is at-least-once: a
consumer that fails before acknowledging reads the same events again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from juki.domain.model import record_from_row, to_plain
from juki.services.read_models import OutboxEntry
from juki.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class ChangeEvent:
    position: int  # the outbox sequence: the cursor a subscriber acknowledges
    event: str  # past tense, one per 異動事由 (domain/events.EVENT_NAMES)
    addressee_number: str
    version: int
    household_number: str
    change_reason: str
    changed_on: str
    filing_id: str
    record: dict[str, Any]  # the record items after the change, without the My Number
    has_my_number: bool
    body: dict[str, Any]  # the whole event as docs/events.md describes it
    my_number_sealed: str | None  # opened only with the event key (adapters/event_key.py)


def _body(row: OutboxEntry) -> dict[str, Any]:
    """The stored event; for a row written before events had a body (schema 1), the same body rebuilt from the
    version it points at (household facts other than its number are not known for those)."""
    if row.payload is not None:
        return row.payload
    record = to_plain(record_from_row(row.record, None))
    record.pop("my_number", None)
    return {
        "schema_version": row.schema_version,
        "event": row.event,
        "change_reason": row.change_reason,
        "changed_on": row.changed_on.isoformat(),
        "filing_id": row.filing_id,
        "addressee_number": row.addressee_number,
        "version": row.version,
        "household": {"household_number": row.household_number},
        "has_my_number": row.has_my_number,
        "record": record,
    }


def read(uow_factory: UnitOfWorkFactory, after: int, limit: int = 500) -> list[ChangeEvent]:
    with uow_factory() as uow:
        rows = uow.queries.outbox(after, limit)
    events = []
    for row in rows:
        body = _body(row)
        events.append(
            ChangeEvent(
                row.seq,
                body["event"],
                row.addressee_number,
                row.version,
                row.household_number,
                row.change_reason,
                row.changed_on.isoformat(),
                row.filing_id,
                body.get("record", {}),  # a ProtectionChanged event carries no record (docs/events.md)
                body["has_my_number"],
                body,
                row.my_number_sealed,
            )
        )
    return events


def pending(uow_factory: UnitOfWorkFactory, subscriber: str, limit: int = 500) -> list[ChangeEvent]:
    """The events this subscriber has not acknowledged yet, oldest first."""
    with uow_factory() as uow:
        after = uow.queries.cursor(subscriber)
    return read(uow_factory, after, limit)


def acknowledge(uow_factory: UnitOfWorkFactory, subscriber: str, position: int) -> None:
    with uow_factory() as uow:
        if position > uow.queries.cursor(subscriber):
            uow.set_cursor(subscriber, position)
            uow.commit()
