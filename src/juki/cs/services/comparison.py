"""The daily comparison of the 本人確認情報ファイル with the register (標準仕様書 j1100): every person whose items
differ, item by item. It is how a broken consumer is caught, so it reads the register the way any reader does —
through its query services (authorised and logged), never its tables — and builds the items with the same rules
as the intake.

The report names persons and items, not values: it is read by operators and kept, and the values are one click
away in either system.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from juki.cs.domain.items import BEFORE_ITEMS, DEAD, MY_NUMBER, PRESENT, record_items
from juki.cs.services.ports import CsTransaction, Current, LogLine
from juki.domain.errors import NotFound
from juki.policy.roles import Actor
from juki.services import register_queries
from juki.services.audit import LogEntry
from juki.services.unit_of_work import UnitOfWorkFactory

STATUS = "レコード状況フラグ"


class RegisterSource(Protocol):
    def active(self) -> list[str]:
        """宛名番号 of every person present in the register."""
        ...

    def resident(self, addressee_number: str) -> Mapping[str, Any] | None:
        """The person's current record with the My Number (register_queries.resident_view), None when unknown."""
        ...


class RegisterQueries:
    """The register's query services as `actor` reads them (each read authorised and in the operation log)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
        self.uow_factory, self.actor = uow_factory, actor

    def active(self) -> list[str]:
        with self.uow_factory() as uow:
            return uow.queries.active_addressee_numbers(limit=10_000_000)

    def resident(self, addressee_number: str) -> Mapping[str, Any] | None:
        try:
            return register_queries.get_resident(self.uow_factory, self.actor, addressee_number, True)
        except NotFound:
            return None


@dataclass(frozen=True)
class Difference:
    addressee_number: str
    resident_code: str | None
    item: str  # an item name of the 36, or "(登録なし)" when one side does not hold the person


@dataclass
class ComparisonReport:
    persons: int = 0
    differences: list[Difference] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "persons": self.persons,
            "differences": [d.__dict__ for d in self.differences],
        }


MISSING = "(登録なし)"


def compare(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    register: RegisterSource,
    actor: Actor,
    city_code: str,
) -> ComparisonReport:
    """Every person the CS holds in scope, and every person present in the register."""
    with cs() as store:
        ours = {c.addressee_number: c for c in store.in_scope()}
    persons = sorted(set(ours) | set(register.active()))
    report = ComparisonReport(len(persons))
    for person in persons:
        report.differences += _differences(person, ours.get(person), register.resident(person), city_code)
    _log(uow_factory, cs, actor, report)
    return report


def _differences(
    person: str, ours: Current | None, theirs: Mapping[str, Any] | None, city_code: str
) -> list[Difference]:
    if ours is None or theirs is None:
        code = (ours.items.get("住民票コード") if ours else None) or (theirs or {}).get("resident_code")
        return [Difference(person, code, MISSING)]
    expected = record_items(theirs, theirs.get("my_number"), city_code)
    if (theirs.get("previous_address") or {}).get("municipality_code") == city_code:
        for item in BEFORE_ITEMS:  # the register's 前住所 is the one before a 転居: not the 転入前住所
            expected.pop(item)
    code = ours.items.get("住民票コード")
    found = [
        Difference(person, code, item) for item, value in expected.items() if ours.items.get(item) != value
    ]
    if _status(theirs) != ours.status:
        found.append(Difference(person, code, STATUS))
    return found


def _status(record: Mapping[str, Any]) -> str:
    if record.get("status") == "active":
        return PRESENT
    removal = record.get("removal") or {}
    return DEAD if removal.get("reason") == "死亡" else "1"


def _log(uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor, report: ComparisonReport) -> None:
    message = f"{report.persons}人を照合、相違{len(report.differences)}件"
    with cs() as store:
        store.log(LogLine("comparison", "ok", message, actor.staff_id, actor.terminal))
    with uow_factory() as uow:
        facts = {"persons": report.persons, "differences": len(report.differences)}
        targets = sorted({d.addressee_number for d in report.differences})
        uow.log(actor, LogEntry("cs:comparison", targets, detail=message, facts=facts))
        uow.commit()


__all__ = ["MY_NUMBER", "ComparisonReport", "Difference", "RegisterQueries", "RegisterSource", "compare"]
