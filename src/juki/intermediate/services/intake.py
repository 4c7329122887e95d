"""Intake: the register's events (subscriber "intermediate", docs/events.md) into the 中間サーバー.

For each event it keeps the person's own state (household, 続柄, name, removed) and the household's 世帯主, gives
or links the 団体内統合宛名番号 (services/addressees.py) when the event brings a 個人番号 (sealed in the event, opened
with the event key: 番号法19条8号 and 9条 are the 団体内統合宛名's basis), and then rebuilds the 副本 of 住民票関係情報
of the person **and of every member of each household the batch touched**: a 世帯主's new name or a new 世帯主
changes the members' 世帯主氏名 although their own records did not change.

One 中間サーバー transaction per batch; then the register's outbox is acknowledged. Delivery is at-least-once: an
event seen before — (宛名番号, version), or the position of a `ProtectionChanged` — is passed over.

`ProtectionChanged` (restriction `support`, 支援措置) is kept per person as the CS keeps it: while one is in force the
person's answers are not automatic (自動応答不可, services/queries.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from juki.cs.services.intake import EventKeyHolder
from juki.domain.events import PROTECTION_CHANGED
from juki.intermediate.domain import replica as layout
from juki.intermediate.ports import ImsStore, ImsTransaction, LogLine, PersonState, Protection
from juki.intermediate.services import addressees, replicas
from juki.services import outbox
from juki.services.outbox import ChangeEvent
from juki.services.unit_of_work import UnitOfWorkFactory

SUBSCRIBER = "intermediate"
SCHEMA_VERSIONS = (1, 2)
CANCELLED_ENTRY = "取消（増）"  # a 転入 or 出生 cancelled as if it never happened: its record leaves the 副本
HOUSEHOLDER = "世帯主"


@dataclass(frozen=True)
class IntakeResult:
    read: int
    taken: int


@dataclass
class Touched:
    households: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)


def run(
    uow_factory: UnitOfWorkFactory,
    ims: ImsTransaction,
    event_key: EventKeyHolder,
    city_code: str,
    limit: int = 500,
) -> IntakeResult:
    """One batch of the register's pending events."""
    events = outbox.pending(uow_factory, SUBSCRIBER, limit)
    if not events:
        return IntakeResult(0, 0)
    touched = Touched()
    with ims() as store:
        taken = sum(take_in(store, event, event_key, city_code, touched) for event in events)
        rebuild(store, touched)
    outbox.acknowledge(uow_factory, SUBSCRIBER, events[-1].position)
    return IntakeResult(len(events), taken)


def run_all(
    uow_factory: UnitOfWorkFactory, ims: ImsTransaction, event_key: EventKeyHolder, city_code: str
) -> int:
    total = 0
    while (result := run(uow_factory, ims, event_key, city_code)).read:
        total += result.taken
    return total


def take_in(
    store: ImsStore, event: ChangeEvent, event_key: EventKeyHolder, city_code: str, touched: Touched
) -> bool:
    """One event; False when the 中間サーバー had it already."""
    if event.event == PROTECTION_CHANGED:
        return _protection(store, event)
    if store.seen(event.addressee_number, event.version):
        return False
    store.mark_seen(event.addressee_number, event.version, event.position)
    body = event.body
    if body.get("schema_version") not in SCHEMA_VERSIONS:
        store.log(
            LogLine(
                "intake",
                "unknown_schema",
                "このイベントのスキーマ版は扱えません",
                addressee_number=event.addressee_number,
            )
        )
        return True
    person = _person(event)
    before = store.person(person.addressee_number)
    if before is None or before.register_version <= person.register_version:
        store.put_person(person)
    _household(store, event, person)
    _number(store, event, event_key, city_code, person)
    touched.persons.add(person.addressee_number)
    for number in (person.household_number, body.get("previous_household_number")):
        if number:
            touched.households.add(str(number))
    if person.removed and event.change_reason == CANCELLED_ENTRY:
        touched.cancelled.add(person.addressee_number)
    return True


def _person(event: ChangeEvent) -> PersonState:
    record, body = event.record, event.body
    household = (body.get("household") or {}).get("household_number") or event.household_number or None
    removed = bool(body["removed"]) if "removed" in body else record.get("status", "active") != "active"
    return PersonState(
        event.addressee_number,
        event.version,
        household,
        str(record.get("relationship") or ""),
        _name(record),
        removed,
    )


def _name(record: dict[str, Any]) -> str:
    """The name as the register holds it (氏 and 名 with an ideographic space), as a 住民票 writes it."""
    parts = [str(record.get(k) or "").strip() for k in ("family_name", "given_name")]
    return "\u3000".join(p for p in parts if p)


def _household(store: ImsStore, event: ChangeEvent, person: PersonState) -> None:
    """The household's 世帯主 as the event says it after the change (a removal names the household it left)."""
    if not person.household_number:
        return
    household = event.body.get("household") or {}
    if "householder" in household:
        store.put_household(person.household_number, household["householder"])
    elif person.relationship == HOUSEHOLDER and not person.removed:  # a schema-1 row: the 続柄 says it
        store.put_household(person.household_number, person.addressee_number)


def _four_info(record: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "address": (record.get("address") or {}).get("address"),
        "birth_date": record.get("birth_date"),
        "sex": record.get("sex"),
    }


def _number(
    store: ImsStore, event: ChangeEvent, event_key: EventKeyHolder, city_code: str, person: PersonState
) -> None:
    info = _four_info(event.record, person.name)
    if not event.my_number_sealed:  # no 個人番号 yet (or a schema-1 row): no unified number until one arrives
        addressees.update_four_info(store, addressees.REGISTER_SYSTEM, person.addressee_number, info)
        return
    my_number = event_key.open_for(event.my_number_sealed, event.addressee_number, event.version)
    try:
        addressees.register(
            store, city_code, addressees.REGISTER_SYSTEM, person.addressee_number, my_number, info
        )
    except addressees.InvalidRegistration as refused:
        store.log(
            LogLine("intake", "invalid_my_number", str(refused), addressee_number=person.addressee_number)
        )


def _protection(store: ImsStore, event: ChangeEvent) -> bool:
    if store.protection_taken(event.position, event.addressee_number):
        return False
    body = event.body
    until = body.get("in_force_until")
    store.add_protection(
        Protection(
            event.addressee_number, str(body["measure_id"]), str(body["restriction"]), str(body["action"]),
            date.fromisoformat(body["in_force_from"]), date.fromisoformat(until) if until else None, event.position,
        )
    )  # fmt: skip
    store.log(
        LogLine(
            "protection",
            str(body["action"]),
            str(body["restriction"]),
            addressee_number=event.addressee_number,
        )
    )
    return True


def rebuild(store: ImsStore, touched: Touched) -> None:
    """The 副本 of every active member of the touched households and of every touched person. A removed person
    keeps the last record they had as a resident (it is built once if they never had one); a cancelled entry's
    record is taken out."""
    persons: dict[str, PersonState] = {}
    for household in sorted(touched.households):
        for member in store.members(household):
            persons[member.addressee_number] = member
    for number in touched.persons:
        found = store.person(number)
        if found is not None:
            persons[number] = found
    unified_of: dict[str, str] = {}
    chosen = []
    for number, person in sorted(persons.items()):
        unified_number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, number)
        if unified_number is None:
            continue
        if number in touched.cancelled:
            replicas.delete(store, unified_number)
            continue
        if person.removed and store.current_replica(unified_number, layout.INFO_CODE) is not None:
            continue
        unified_of[number] = unified_number
        chosen.append(person)
    replicas.rebuild(store, chosen, unified_of)
