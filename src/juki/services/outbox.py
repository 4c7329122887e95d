"""Reading what came out of the register's one door: the outbox, in commit order, each consumer at its own pace.

Later features (the CS notices, the department transfer feed, the intermediate server copy, J-LIS mailing info)
are subscribers: each keeps a cursor, reads the changes after it, and acknowledges what it has handled.
Delivery is at-least-once: a consumer that fails before acknowledging reads the same changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from juki.domain.model import record_from_row, to_plain
from juki.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class ChangeEvent:
    position: int
    event: str
    addressee_number: str
    version: int
    household_number: str
    change_reason: str
    changed_on: str
    filing_id: str
    record: dict[str, Any]  # the full snapshot of that version, without the My Number
    has_my_number: bool


def read(uow_factory: UnitOfWorkFactory, after: int, limit: int = 500) -> list[ChangeEvent]:
    with uow_factory() as uow:
        rows = uow.queries.outbox(after, limit)
    events = []
    for row in rows:
        record = to_plain(record_from_row(row.record, None))
        record.pop("my_number", None)
        events.append(
            ChangeEvent(
                row.seq,
                row.event,
                row.addressee_number,
                row.version,
                row.household_number,
                row.change_reason,
                row.changed_on.isoformat(),
                row.filing_id,
                record,
                row.has_my_number,
            )
        )
    return events


def pending(uow_factory: UnitOfWorkFactory, subscriber: str, limit: int = 500) -> list[ChangeEvent]:
    """The changes this subscriber has not acknowledged yet, oldest first."""
    with uow_factory() as uow:
        after = uow.queries.cursor(subscriber)
    return read(uow_factory, after, limit)


def acknowledge(uow_factory: UnitOfWorkFactory, subscriber: str, position: int) -> None:
    with uow_factory() as uow:
        if position > uow.queries.cursor(subscriber):
            uow.set_cursor(subscriber, position)
            uow.commit()
