"""Intake: the register's events (subscriber "cs", docs/events.md) into the 本人確認情報ファイル and the queue.

One CS transaction per batch writes the file, its history and the notices (or error-queue entries); then the
register's outbox is acknowledged. Delivery is at-least-once: a batch taken in but not acknowledged (a crash
between the two) comes again, and each event already seen — (宛名番号, version) — is passed over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from juki.cs.domain.items import MY_NUMBER, build
from juki.cs.domain.items import Change as Recorded
from juki.cs.services import restrictions, transfers
from juki.cs.services.ports import CsStore, CsTransaction, LogLine
from juki.cs.services.queue import Change, admit
from juki.cs.services.transfers import TransfersOf
from juki.domain.events import PROTECTION_CHANGED
from juki.services import outbox
from juki.services.outbox import ChangeEvent
from juki.services.unit_of_work import UnitOfWorkFactory

SUBSCRIBER = "cs"
SCHEMA_VERSIONS = (1, 2)  # docs/events.md: a consumer refuses a version it does not know


class EventKeyHolder(Protocol):
    """The event key (adapters/event_key.EventKey): the CS holds it (住基法30条の6: 本人確認情報 has 個人番号)."""

    def open_for(self, token: str, addressee_number: str, version: int) -> str: ...


@dataclass(frozen=True)
class IntakeResult:
    read: int  # events read from the outbox
    taken: int  # of them, new to the CS (the rest were seen before)


def run(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    event_key: EventKeyHolder,
    city_code: str,
    limit: int = 500,
    transfers_of: TransfersOf | None = None,
) -> IntakeResult:
    """One batch of the register's pending events. With `transfers_of`, a 特例転出 or a 転入 from another city
    also queues its telegram to that city (services/transfers.py) in the same transaction."""
    events = outbox.pending(uow_factory, SUBSCRIBER, limit)
    if not events:
        return IntakeResult(0, 0)
    with cs() as store:
        taken = sum(take_in(store, event, event_key, city_code, transfers_of) for event in events)
    outbox.acknowledge(uow_factory, SUBSCRIBER, events[-1].position)
    return IntakeResult(len(events), taken)


def run_all(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    event_key: EventKeyHolder,
    city_code: str,
    transfers_of: TransfersOf | None = None,
) -> int:
    """Every pending event, batch after batch; how many were new."""
    total = 0
    while (result := run(uow_factory, cs, event_key, city_code, transfers_of=transfers_of)).read:
        total += result.taken
    return total


def take_in(
    store: CsStore,
    event: ChangeEvent,
    event_key: EventKeyHolder,
    city_code: str,
    transfers_of: TransfersOf | None = None,
) -> bool:
    """One event; False when the CS had it already."""
    if event.event == PROTECTION_CHANGED:  # a measure: no change of the 本人確認情報, no notice (docs/cs.md)
        return restrictions.take_in(store, event)
    if store.seen(event.addressee_number, event.version):
        return False
    store.mark_seen(event.addressee_number, event.version, event.position)
    body = event.body
    if body.get("schema_version") not in SCHEMA_VERSIONS:
        store.log(_refusal(event, "unknown_schema", "このイベントのスキーマ版は扱えません"))
        return True
    current = store.current(event.addressee_number)
    my_number = _opened(event, event_key)
    if my_number is None and event.has_my_number:  # a row written before events sealed it (schema 1)
        my_number = current.items.get(MY_NUMBER) if current else None
        if my_number is None:
            store.log(
                _refusal(event, "my_number_unavailable", "個人番号が封入されていないため受け取れませんでした")
            )
    recorded = Recorded.from_body(body)
    items = build(event.record, recorded, my_number, city_code, current.items if current else None)
    change = Change(
        event.addressee_number,
        event.change_reason,
        event.position,
        event.version,
        _household_changed(body),
        items,
        recorded.staff_id,
        recorded.terminal,
        bool((body.get("transfer") or {}).get("card")),
    )
    admit(store, change)
    if transfers_of is not None:
        transfers.take_in(store, transfers_of(store), event, items, city_code)
    return True


def _opened(event: ChangeEvent, event_key: EventKeyHolder) -> str | None:
    if not event.my_number_sealed:
        return None
    return event_key.open_for(event.my_number_sealed, event.addressee_number, event.version)


def _household_changed(body: Mapping[str, Any]) -> bool:
    before = body.get("previous_household_number")
    after = (body.get("household") or {}).get("household_number")
    return before is not None and before != after


def _refusal(event: ChangeEvent, result: str, message: str) -> LogLine:
    by = event.body.get("recorded_by") or {}
    return LogLine(
        "intake", result, message, str(by.get("staff_id") or ""), str(by.get("terminal") or ""),
        addressee_number=event.addressee_number,
    )  # fmt: skip
