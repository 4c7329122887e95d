"""支援措置 (protection measures, 標準仕様書 j160, j410, j440).

A supervisor acting for the protection procedure (支援措置に関する事務) puts a person or a household under
protection. While a measure is in force:
- certificates for anyone but the person or their household are refused (`protected_record`, `check_certificate`);
- searches, record views and household views hide the record from anyone without `protection:view` — it looks
  not found — and every access, shown or hidden, raises an alert for the supervisors;
- later consumers (kiosk issuance, the intermediate server's no-auto-reply list) ask `in_force_for`.
A temporary release (一時解除) lets ordinary work see the record until it lapses by itself; it is not a release
for other systems (`for_other_systems=True` ignores it).

The same measures carry other holds (抑止, j410): each names the operations it holds — filing (異動入力),
certificate (証明書発行), view (照会) — and its level: `error` blocks (`protected_record`), `alert` lets the work go
on with a warning and an alert. A 支援措置 holds certificates and views at error level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from juki.domain import protection as rules
from juki.domain.dates import parse_date
from juki.domain.errors import InvalidDate, InvalidField, NotFound, ProtectedRecord, ProtectionMeasureNotFound
from juki.domain.events import ProtectionEvent, restriction_for_other_systems
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.domain.intake import free_text
from juki.policy.roles import PROTECTION_END, PROTECTION_RELEASE, PROTECTION_SET, PROTECTION_VIEW, Actor
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.read_models import ProtectionMeasure
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_RELEASE_MINUTES = 8 * 60  # a release longer than a working day is not "temporary"
# The changes other systems hear of (ProtectionChanged `action`); a temporary release is not one of them (j410).
EVENT_ACTIONS = {
    "protection:extend": "extended",
    "protection:confirm": "confirmed",
    "protection:end": "ended",
}


def _state(row: ProtectionMeasure, for_other_systems: bool = False) -> rules.MeasureState:
    """A measure's dates and state; `for_other_systems`: a temporary release does not count (j410)."""
    released = None if for_other_systems or row.released_until is None else utc(row.released_until)
    return rules.MeasureState(row.state, released, row.starts_on, row.ended_on)


def view(row: ProtectionMeasure, today: date, now: datetime) -> dict[str, Any]:
    return {
        "measure_id": row.measure_id,
        "kind": row.kind,
        "operations": list(row.operations),
        "level": row.level,
        "subject_kind": row.subject_kind,
        "subject": row.subject,
        "reason": row.reason,
        "requester": row.requester,
        "received_on": row.received_on.isoformat(),
        "starts_on": row.starts_on.isoformat(),
        "ends_on": row.ends_on.isoformat(),
        "provisional": row.provisional,
        "state": row.state,
        "ended_on": row.ended_on.isoformat() if row.ended_on else None,
        "end_reason": row.end_reason,
        "released_until": row.released_until.isoformat() if row.released_until else None,
        "version": row.version,
        "warning": rules.period_warning(today, row.ends_on) if row.state == "active" else None,
        "in_force": _state(row).in_force(now, today),  # today, for ordinary work (a release counts)
    }


def _measure(uow: UnitOfWork, measure_id: str) -> ProtectionMeasure:
    row = uow.controls.measure(measure_id)
    if row is None:
        raise ProtectionMeasureNotFound()
    return row


def set_measure(uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    authorize(uow_factory, actor, PROTECTION_SET, "protection:set")
    kind = rules.check_subject_kind(str(payload.get("subject_kind", "")))
    subject = str(payload.get("subject", ""))
    subject = validate_addressee_number(subject) if kind == "person" else validate_household_number(subject)
    starts_on = parse_date(str(payload.get("starts_on", "")), "starts_on")
    ends_on = parse_date(str(payload["ends_on"]), "ends_on") if payload.get("ends_on") else None
    ends_on = ends_on or rules.default_end(starts_on)
    rules.check_period(starts_on, ends_on)
    hold_kind, operations, level = rules.check_hold(
        str(payload.get("kind", "support")), payload.get("operations"), str(payload.get("level", "error"))
    )
    values = {
        "kind": hold_kind,
        "operations": operations,
        "level": level,
        "subject_kind": kind,
        "subject": subject,
        "reason": free_text(payload, "reason"),
        "requester": free_text(payload, "requester", 200),
        "received_on": parse_date(str(payload.get("received_on", "")), "received_on"),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "provisional": bool(payload.get("provisional", False)),
        "state": "active",
        "created_by": actor.staff_id,
    }
    with uow_factory() as uow:
        exists = uow.queries.resident(subject) if kind == "person" else uow.queries.household(subject)
        if exists is None:
            raise NotFound("対象の住民または世帯が見つかりません", "subject")
        measure_id = uow.controls.add_measure({**values, "created_at": uow.now})
        _tell_other_systems(uow, actor, _measure(uow, measure_id), "set")
        uow.log(actor, LogEntry("protection:set", _targets(uow, kind, subject), detail=measure_id))
        uow.commit()
        return view(_measure(uow, measure_id), uow.reader.today, uow.now)


def provisional_on_arrival(uow: UnitOfWork, actor: Actor, addressee_number: str, starts_on: date) -> str:
    """標準仕様書 j440: a person the previous city protected arrives under a 仮支援措置, set by the register's rule in
    the transaction of the 特例転入 (no one asks for it, so no `protection:set`), for the supervisors to confirm or
    end. Its reason names where it came from, nothing of the person's circumstances."""
    kind, operations, level = rules.check_hold("support", None, "error")
    values = {
        "kind": kind,
        "operations": operations,
        "level": level,
        "subject_kind": "person",
        "subject": addressee_number,
        "reason": "転出元市区町村の支援措置（特例転入・転出証明書情報）",
        "requester": "転出元市区町村",
        "received_on": starts_on,
        "starts_on": starts_on,
        "ends_on": rules.default_end(starts_on),
        "provisional": True,
        "state": "active",
        "created_by": actor.staff_id,
        "created_at": uow.now,
    }
    measure_id = uow.controls.add_measure(values)
    _tell_other_systems(uow, actor, _measure(uow, measure_id), "set")
    uow.log(actor, LogEntry("protection:set", [addressee_number], detail=f"{measure_id} provisional j440"))
    return measure_id


def _tell_other_systems(uow: UnitOfWork, actor: Actor, row: ProtectionMeasure, action: str) -> None:
    """A measure other systems keep (j410, j440) goes to the outbox with the change, one event per person.

    A temporary release (一時解除) is never passed on: other systems keep the measure through it (j410).
    """
    restriction = restriction_for_other_systems(row.kind, list(row.operations), row.level)
    if restriction is None:
        return
    persons = tuple(_targets(uow, row.subject_kind, row.subject))
    events = [
        ProtectionEvent(
            person,
            row.measure_id,
            restriction,
            action,
            row.starts_on,
            row.ended_on if row.state == "ended" else None,
            row.ends_on,
            row.provisional,
            row.ended_on or (row.starts_on if action == "set" else uow.reader.today),
            persons,
        )
        for person in persons
    ]
    uow.write_protection(events, actor)


def _targets(uow: UnitOfWork, kind: str, subject: str) -> list[str]:
    if kind == "person":
        return [subject]
    return [m.addressee_number for m in uow.queries.members(subject, active_only=False)]


def _change(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    measure_id: str,
    permission: str,
    action: str,
    values_for: Callable[[UnitOfWork, ProtectionMeasure], dict[str, Any]],
) -> dict[str, Any]:
    authorize(uow_factory, actor, permission, action)
    with uow_factory() as uow:
        row = _measure(uow, measure_id)
        if row.state != "active":
            raise InvalidField("終了した支援措置は変更できません", "measure_id")
        values = values_for(uow, row)
        uow.controls.change_measure(measure_id, row.version, values)
        if action in EVENT_ACTIONS:
            _tell_other_systems(uow, actor, _measure(uow, measure_id), EVENT_ACTIONS[action])
        uow.log(actor, LogEntry(action, _targets(uow, row.subject_kind, row.subject), detail=measure_id))
        uow.commit()
        return view(_measure(uow, measure_id), uow.reader.today, uow.now)


def extend(uow_factory: UnitOfWorkFactory, actor: Actor, measure_id: str) -> dict[str, Any]:
    def values(uow: UnitOfWork, row: ProtectionMeasure) -> dict[str, Any]:
        _, ends = rules.extension(uow.reader.today, row.ends_on)
        return {"ends_on": ends}

    return _change(uow_factory, actor, measure_id, PROTECTION_SET, "protection:extend", values)


def confirm(uow_factory: UnitOfWorkFactory, actor: Actor, measure_id: str) -> dict[str, Any]:
    """A provisional measure (仮支援措置) becomes the decided one."""
    return _change(
        uow_factory,
        actor,
        measure_id,
        PROTECTION_SET,
        "protection:confirm",
        lambda uow, row: {"provisional": False},
    )


def end(
    uow_factory: UnitOfWorkFactory, actor: Actor, measure_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    reason = rules.check_end_reason(str(payload.get("end_reason", "")))
    ended_on = parse_date(str(payload.get("ended_on", "")), "ended_on")

    def values(uow: UnitOfWork, row: ProtectionMeasure) -> dict[str, Any]:
        if ended_on < row.starts_on:
            raise InvalidDate("終了日が開始日より前です", "ended_on")
        return {"state": "ended", "ended_on": ended_on, "end_reason": reason, "released_until": None}

    return _change(uow_factory, actor, measure_id, PROTECTION_END, "protection:end", values)


def release(
    uow_factory: UnitOfWorkFactory, actor: Actor, measure_id: str, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """一時解除: ordinary work may see the record for `minutes`; then the measure is in force again by itself."""
    minutes = payload.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_RELEASE_MINUTES:
        raise InvalidField(f"一時解除の時間は1〜{MAX_RELEASE_MINUTES}分です", "minutes")
    reason = free_text(payload, "reason")

    def values(uow: UnitOfWork, row: ProtectionMeasure) -> dict[str, Any]:
        return {"released_until": uow.now + timedelta(minutes=minutes), "release_reason": reason}

    return _change(uow_factory, actor, measure_id, PROTECTION_RELEASE, "protection:release", values)


def list_measures(uow_factory: UnitOfWorkFactory, actor: Actor, state: str | None = None) -> dict[str, Any]:
    authorize(uow_factory, actor, PROTECTION_VIEW, "protection:list")
    with uow_factory() as uow:
        rows = uow.controls.measures(state)
        uow.log(actor, LogEntry("protection:list", [r.subject for r in rows], detail=f"state={state}"))
        uow.commit()
        return {"measures": [view(r, uow.reader.today, uow.now) for r in rows]}


def get_measure(uow_factory: UnitOfWorkFactory, actor: Actor, measure_id: str) -> dict[str, Any]:
    authorize(uow_factory, actor, PROTECTION_VIEW, "protection:view")
    with uow_factory() as uow:
        row = _measure(uow, measure_id)
        uow.log(actor, LogEntry("protection:view", _targets(uow, row.subject_kind, row.subject)))
        uow.commit()
        return view(row, uow.reader.today, uow.now)


# --- what the register's reads and the certificate issuance ask ----------------------------------------------


def measures_holding(
    uow: UnitOfWork,
    pairs: list[tuple[str, str]],
    operation: str,
    for_other_systems: bool = False,
    level: str | None = None,
) -> list[tuple[ProtectionMeasure, set[str]]]:
    """The measures in force that hold `operation` for any of these (addressee, household) pairs, each with the
    persons it covers. `for_other_systems`: a temporary release does not count (it is never passed on, j410)."""
    found = []
    for m in uow.controls.measures_naming({p for p, _ in pairs}, {h for _, h in pairs}):
        if operation not in m.operations or (level is not None and m.level != level):
            continue
        if not _state(m, for_other_systems).in_force(uow.now, uow.reader.today):
            continue
        own = 0 if m.subject_kind == "person" else 1  # addressee and household numbers may coincide
        found.append((m, {pair[0] for pair in pairs if pair[own] == m.subject}))
    return found


def in_force_for(
    uow: UnitOfWork,
    persons: Iterable[tuple[str, str]],
    for_other_systems: bool = False,
    operation: str = "view",
    level: str | None = "error",
) -> set[str]:
    """Of (addressee number, household number) pairs, the persons a blocking measure on `operation` covers now.

    Kiosk issuance and the intermediate server ask with `operation="certificate"` / `"view"` and
    `for_other_systems=True`.
    """
    found = measures_holding(uow, list(persons), operation, for_other_systems, level)
    return {person for _, covered in found for person in covered}


def _alert(uow: UnitOfWork, actor: Actor, number: str, kind: str, action: str) -> None:
    uow.controls.add_alert(
        {
            "at": uow.now,
            "kind": kind,
            "subject": number,
            "staff_id": actor.staff_id,
            "detail": f"{action} {actor.role} {actor.terminal}"[:500],
        }
    )


# a 宛名番号, or (宛名番号, 世帯番号) when the caller has the household at hand
Person = str | tuple[str, str]
_ADDRESSEE_NUMBER = re.compile(r"(?<![0-9])[0-9]{10}(?![0-9])")


def screen(uow: UnitOfWork, actor: Actor, persons: Iterable[Person], action: str) -> set[str]:
    """The one screening of every read that can name a person (j440): of the persons a result names, those to
    hide from this actor, with one alert per person the read touched.

    Every measure on views alerts, whatever its level and even while temporarily released; blocking ones hide
    the person from anyone without `protection:view`. A bare 宛名番号 is screened with the person's household
    (a household measure covers its members); a number that names nobody is no one to hide.
    """
    pairs = _pairs(uow, persons)
    watched = {p for _, covered in measures_holding(uow, pairs, "view", True, None) for p in covered}
    if not watched:
        return set()
    hidden = set() if actor.may(PROTECTION_VIEW) else in_force_for(uow, pairs)
    for number in sorted(watched):
        _alert(uow, actor, number, "protected_hidden" if number in hidden else "protected_access", action)
    return hidden


def with_householder(uow: UnitOfWork, addressee_number: str) -> list[str]:
    """The person and their household's 世帯主: what a read names when it shows the person's 住基法7条4号 items
    (the 中間サーバー's 副本 names the 世帯主), to be screened together."""
    row = uow.queries.resident(addressee_number)
    household = uow.queries.household(row.household_number) if row is not None else None
    head = household.householder if household is not None else None
    return [addressee_number, head] if head and head != addressee_number else [addressee_number]


def _pairs(uow: UnitOfWork, persons: Iterable[Person]) -> list[tuple[str, str]]:
    pairs: dict[str, str] = {}
    for person in persons:
        if isinstance(person, tuple):
            pairs.setdefault(person[0], person[1])
            continue
        if person in pairs:
            continue
        row = uow.queries.resident(person)
        if row is not None:
            pairs[person] = row.household_number
    return list(pairs.items())


def numbers_in(value: object) -> set[str]:
    """The 宛名番号-shaped strings a filing's payload or a message names (keys too: `new_relationships`)."""
    if isinstance(value, str):
        return set(_ADDRESSEE_NUMBER.findall(value))
    if isinstance(value, Mapping):  # a 世帯番号 has the same shape: those keys name households, not persons
        persons = {k: v for k, v in value.items() if "household" not in str(k)}
        return {n for k, v in persons.items() for n in numbers_in(k) | numbers_in(v)}
    if isinstance(value, list | tuple):
        return {n for item in value for n in numbers_in(item)}
    return set()


def screen_warnings(
    uow: UnitOfWork, actor: Actor, warnings: list[dict[str, str]], action: str
) -> list[dict[str, str]]:
    """A filing's warnings as this actor may see them: a protected person's 宛名番号 is left out of each, and a
    warning about no one else is left out altogether (a namesake under 支援措置 looks not found; the
    supervisors get the alert)."""
    named = [numbers_in(w.get("message", "")) for w in warnings]
    hidden = screen(uow, actor, set().union(*named), action) if warnings else set()
    shown = []
    for warning, numbers in zip(warnings, named, strict=True):
        if numbers and numbers <= hidden:
            continue
        message = warning.get("message", "")
        for number in numbers & hidden:
            message = message.replace(f"{number}、", "").replace(f"、{number}", "").replace(number, "")
        shown.append({**warning, "message": message} if numbers & hidden else warning)
    return shown


def check_filing(
    uow: UnitOfWork, actor: Actor, persons: Iterable[tuple[str, str]], action: str
) -> list[dict[str, str]]:
    """Within a filing's transaction, before anything is written: a blocking hold on 異動入力 refuses the whole
    filing (`HeldRecord`); an alert-level one lets it through with a warning (and an alert)."""
    pairs = list(persons)
    warnings = []
    for measure, covered in measures_holding(uow, pairs, "filing"):
        if measure.level == "error":
            raise HeldRecord("異動入力が抑止されている住民が含まれています", sorted(covered))
        for number in sorted(covered):
            _alert(uow, actor, number, "hold_alert", action)
            warnings.append(
                {
                    "code": "hold",
                    "field": "addressee_number",
                    "message": f"{number}: 異動入力の抑止（アラート）があります",
                }
            )
    return warnings


class HeldRecord(ProtectedRecord):
    """A hold blocks the operation; `persons` are the addressee numbers it covers (for the refusal's log entry)."""

    def __init__(self, message: str, persons: list[str]) -> None:
        super().__init__(message)
        self.persons = persons


def check_certificate(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    subjects: Iterable[tuple[str, str]],
    requester_number: str | None,
) -> None:
    """Refuse a certificate of a protected person to anyone but that person or their household (j440).

    `subjects` are the (addressee, household) pairs on the certificate; `requester_number` the requester's
    addressee number when the requester is a resident (self or household member), else None. An alert-level
    hold on issuance lets it go on with an alert.
    """
    pairs = list(subjects)
    with uow_factory() as uow:
        found = measures_holding(uow, pairs, "certificate", level=None)
        if not found:
            return
        blocked = {p for m, covered in found if m.level == "error" for p in covered}
        for number in sorted({p for _, covered in found for p in covered}):
            _alert(uow, actor, number, "protected_access", "certificate:request")
        requester = uow.queries.resident(requester_number) if requester_number else None
        households = {h for p, h in pairs if p in blocked}
        own = requester is not None and (
            requester.addressee_number in blocked or requester.household_number in households
        )
        if not blocked or own:
            uow.commit()
            return
        uow.log(actor, LogEntry("certificate:request", sorted(blocked), result="protected"))
        uow.commit()
    raise ProtectedRecord("支援措置の対象者を含むため交付できません")


def list_alerts(uow_factory: UnitOfWorkFactory, actor: Actor, open_only: bool = True) -> dict[str, Any]:
    authorize(uow_factory, actor, PROTECTION_VIEW, "alert:list")
    with uow_factory() as uow:
        rows = uow.controls.alerts(open_only)
        uow.log(actor, LogEntry("alert:list", sorted({r.subject for r in rows if r.subject})))
        uow.commit()
    return {
        "alerts": [
            {
                "alert_id": r.alert_id,
                "at": r.at.isoformat(),
                "kind": r.kind,
                "subject": r.subject,
                "staff_id": r.staff_id,
                "detail": r.detail,
                "acknowledged_by": r.acknowledged_by,
            }
            for r in rows
        ]
    }


def acknowledge_alert(uow_factory: UnitOfWorkFactory, actor: Actor, alert_id: str) -> dict[str, Any]:
    authorize(uow_factory, actor, PROTECTION_VIEW, "alert:acknowledge")
    with uow_factory() as uow:
        if not uow.controls.acknowledge_alert(alert_id, actor.staff_id, uow.now):
            raise NotFound("未確認の該当する通知がありません", "alert_id")
        uow.log(actor, LogEntry("alert:acknowledge", detail=alert_id))
        uow.commit()
    return {"alert_id": alert_id, "acknowledged_by": actor.staff_id}
