"""The daily comparison of the 本人確認情報ファイル with the register (標準仕様書 j1100): every person whose items
differ, item by item. It is how a broken consumer is caught, so it reads the register's own current records —
through its unit of work, never its tables, never the outbox the CS was fed from (comparing the intake's result
with the intake's input would miss the very faults it is for) — and builds the items with the same rules as the
intake.

The report names persons and items, not values: it is read by operators and kept (append-only, in the CS's
database), and the values are one click away in either system. Each run is in the CS log and in the register's
operation log as the actor that ran it; the relay runs it once a day (`due`).

Who may read what. A staff actor (a supervisor, say) reads as any reader does: `register_queries.get_resident`,
each read authorised, logged and screened, so a person under a blocking 支援措置 is hidden from them and
reported `(登録なし)`. The CS itself (`CS_SYSTEM`) must see everyone it holds, or every daily run reports each
protected person as a false difference; it holds `register:compare` (policy/roles.py) instead of
`register:read`, the least that does:
- it reads only what the CS already holds — the CS takes in every person, protected or not, from the outbox
  (住基法30条の6) — so it learns nothing new, and its report carries no value, so nothing reaches a person;
- it is not `protection:view`, which would also open the measures and every view and search, and whose reads
  still alert: a daily alert per protected person for a machine's look would bury the supervisors' real ones
  (an alert is for a person looking at a protected record, j440);
- it is honoured here only, not by the screening (services/protection.py): no view, search or certificate
  becomes possible with it, and `CS_SYSTEM` holds no `register:read` at all;
- the run is one entry of the register's operation log (`cs:comparison`, the persons compared counted and those
  found named), not one per person: it is a machine's batch, and a protected person's entry would be noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from juki.cs.domain.items import BEFORE_ITEMS, DEAD, MY_NUMBER, PRESENT, record_items
from juki.cs.services.ports import CsTransaction, Current, KeptComparison, LogLine
from juki.domain.dates import JST
from juki.domain.errors import NotFound
from juki.policy.roles import CS_OPERATE, MY_NUMBER_REVEAL, REGISTER_COMPARE, Actor
from juki.services import register_queries
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

STATUS = "レコード状況フラグ"
DAILY_HOUR = 2  # 02:00 in Japan: after the day's counter work and its batch jobs, before the next morning


class RegisterSource(Protocol):
    def active(self) -> list[str]:
        """宛名番号 of every person present in the register."""
        ...

    def resident(self, addressee_number: str) -> Mapping[str, Any] | None:
        """The person's current record with the My Number (register_queries.resident_view), None when unknown."""
        ...


class RegisterQueries:
    """The register as `actor` may read it for the comparison: with `register:compare` (the CS itself) every
    person, unscreened and without alerts (see the module's docstring); else as any reader, through
    `register_queries.get_resident` (each read authorised, logged and screened)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
        self.uow_factory, self.actor = uow_factory, actor
        self.unscreened = actor.may(REGISTER_COMPARE)

    def _may_open_numbers(self) -> None:
        authorize(self.uow_factory, self.actor, MY_NUMBER_REVEAL, "cs:comparison:my_number")

    def active(self) -> list[str]:
        if self.unscreened:
            self._may_open_numbers()
        with self.uow_factory() as uow:
            return uow.queries.active_addressee_numbers(limit=10_000_000)

    def resident(self, addressee_number: str) -> Mapping[str, Any] | None:
        if self.unscreened:
            self._may_open_numbers()
            with self.uow_factory() as uow:
                row = uow.queries.resident(addressee_number)
                return register_queries.resident_view(row, True) if row is not None else None
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
    at: datetime | None = None,
) -> ComparisonReport:
    """Every person the CS holds in scope, and every person present in the register; the report kept as of
    `at` (default: now) and logged."""
    with cs() as store:
        ours = {c.addressee_number: c for c in store.in_scope()}
    persons = sorted(set(ours) | set(register.active()))
    report = ComparisonReport(len(persons))
    for person in persons:
        report.differences += _differences(person, ours.get(person), register.resident(person), city_code)
    _keep(uow_factory, cs, actor, report, at)
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


def _keep(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    actor: Actor,
    report: ComparisonReport,
    at: datetime | None,
) -> None:
    """The report into the CS's database and the CS log (one transaction), then the register's operation log."""
    message = f"{report.persons}人を照合、相違{len(report.differences)}件"
    with cs() as store:
        differences = [dict(d.__dict__) for d in report.differences]
        kept = KeptComparison(at or store.now, report.persons, differences, actor.staff_id, actor.terminal)
        store.keep_comparison(kept)
        store.log(LogLine("comparison", "ok", message, actor.staff_id, actor.terminal))
    with uow_factory() as uow:
        facts = {"persons": report.persons, "differences": len(report.differences)}
        targets = sorted({d.addressee_number for d in report.differences})
        uow.log(actor, LogEntry("cs:comparison", targets, detail=message, facts=facts))
        uow.commit()


# --- the daily run --------------------------------------------------------------------------------------------


def last_slot(now: datetime, hour: int = DAILY_HOUR) -> datetime:
    """The latest `hour`:00 in Japan at or before `now`."""
    local = now.astimezone(JST)
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return slot if slot <= local else slot - timedelta(days=1)


def due(last: datetime | None, now: datetime, hour: int = DAILY_HOUR) -> bool:
    """Whether the daily comparison is due: none kept since the latest `hour`:00 in Japan — so at that hour every
    day, and at a start after a missed one (a report older than a day always is)."""
    return last is None or last < last_slot(now, hour)


def last_run(cs: CsTransaction) -> datetime | None:
    with cs() as store:
        kept = store.latest_comparison()
    return kept.at if kept is not None else None


def latest(uow_factory: UnitOfWorkFactory, cs: CsTransaction, actor: Actor) -> KeptComparison | None:
    """The latest kept report, for the CS operator's page: persons by 住民票コード and items, no value (the
    notices' list shows as much). The look is in the operation log, naming the persons it shows."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:comparison:view")
    with cs() as store:
        kept = store.latest_comparison()
    if kept is not None:
        with uow_factory() as uow:
            named = sorted({str(d["addressee_number"]) for d in kept.differences})
            uow.log(actor, LogEntry("cs:comparison:view", named))
            uow.commit()
    return kept


__all__ = [
    "MY_NUMBER",
    "ComparisonReport",
    "Difference",
    "RegisterQueries",
    "RegisterSource",
    "compare",
    "due",
    "latest",
]
