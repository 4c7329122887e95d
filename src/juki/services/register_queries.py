"""Reading the register: every view and search is authorised here and written to the operation log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juki.domain.errors import (
    CardMoveOutNoCertificate,
    FilingNotFound,
    HouseholdNotFound,
    NotFound,
    ResidentNotFound,
)
from juki.domain.model import record_from_row, to_plain
from juki.policy.roles import MY_NUMBER_REVEAL, MY_NUMBER_SEARCH, REGISTER_READ, Actor
from juki.policy.search import parse_criteria
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.read_models import (
    FilingChange,
    MatchedVersion,
    StoredFiling,
    StoredResident,
    StoredVersion,
)
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# What a list of people shows of each: enough to pick the right person, nothing more.
SUMMARY_FIELDS = (
    "addressee_number",
    "status",
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "birth_date",
    "sex",
    "household_number",
    "relationship",
    "address",
    "removal",
)


def resident_view(row: StoredResident, include_my_number: bool) -> dict[str, Any]:
    """The API's view of a current record; `my_number` only when the caller's procedure needs it."""
    record = to_plain(record_from_row(row.record, row.my_number))
    if not include_my_number:
        record.pop("my_number", None)
    return {"addressee_number": row.addressee_number, "status": row.status, "version": row.version, **record}


def _authorize_read(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    action: str,
    targets: tuple[str, ...],
    include_my_number: bool,
) -> None:
    authorize(uow_factory, actor, REGISTER_READ, action, targets)
    if include_my_number:
        authorize(uow_factory, actor, MY_NUMBER_REVEAL, action + ":my_number", targets)


def _pairs(rows: list[StoredResident]) -> list[tuple[str, str]]:
    return [(r.addressee_number, r.household_number) for r in rows]


def _hidden(uow: UnitOfWork, actor: Actor, rows: list[StoredResident], action: str) -> bool:
    """Whether a protection measure hides any of these from the actor; a hidden read is logged and alerted.

    The alert and the log entry are committed before the caller answers "not found" (it looks not found).
    """
    if not protection.screen(uow, actor, _pairs(rows), action):
        return False  # any alert for a permitted access is committed with the read's log entry
    uow.log(actor, LogEntry(action, [r.addressee_number for r in rows], result="hidden"))
    uow.commit()
    return True


def get_resident(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, include_my_number: bool = False
) -> dict[str, Any]:
    _authorize_read(uow_factory, actor, "resident:view", (addressee_number,), include_my_number)
    with uow_factory() as uow:
        row = uow.queries.resident(addressee_number)
        if row is None or _hidden(uow, actor, [row], "resident:view"):
            raise ResidentNotFound()
        uow.log(
            actor,
            LogEntry(
                "resident:view",
                [addressee_number],
                my_number_shown=include_my_number and row.my_number is not None,
            ),
        )
        uow.commit()
        return resident_view(row, include_my_number)


def version_view(v: StoredVersion, include_my_number: bool) -> dict[str, Any]:
    """One version of a person's history; its My Number is decrypted only when it is to be shown."""
    record = to_plain(record_from_row(v.record, v.my_number if include_my_number else None))
    if not include_my_number:
        record.pop("my_number", None)
    return {
        "version": v.version,
        "change_reason": v.change_reason,
        "changed_on": v.changed_on.isoformat(),
        "filed_on": v.filed_on.isoformat(),
        "recorded_at": v.recorded_at.isoformat(),
        "filing_id": v.filing_id,
        "staff_id": v.staff_id,
        "record": record,
    }


def get_history(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, include_my_number: bool = False
) -> dict[str, Any]:
    _authorize_read(uow_factory, actor, "resident:history", (addressee_number,), include_my_number)
    with uow_factory() as uow:
        rows = uow.queries.history(addressee_number)
        current = uow.queries.resident(addressee_number)
        if not rows or (current is not None and _hidden(uow, actor, [current], "resident:history")):
            raise ResidentNotFound()
        uow.log(
            actor,
            LogEntry("resident:history", [addressee_number], my_number_shown=include_my_number),
        )
        uow.commit()
    versions = [version_view(v, include_my_number) for v in rows]
    return {"addressee_number": addressee_number, "versions": versions}


def get_household(uow_factory: UnitOfWorkFactory, actor: Actor, household_number: str) -> dict[str, Any]:
    """A household as this actor may see it (j430: removed members too). A member under 支援措置 is left out for
    those who may not see them, and a protected 世帯主 is not named (`householder` null, as for a household
    without one, j100); a household with no current member left to show looks not found (its address is the
    protected person's)."""
    authorize(uow_factory, actor, REGISTER_READ, "household:view", (household_number,))
    with uow_factory() as uow:
        hh = uow.queries.household(household_number)
        if hh is None:
            raise HouseholdNotFound()
        members = uow.queries.members(household_number)
        removed = [
            m for m in uow.queries.members(household_number, active_only=False) if m.status != "active"
        ]
        hidden = protection.screen(uow, actor, _pairs([*members, *removed]), "household:view")
        shown = [m for m in members if m.addressee_number not in hidden]
        if hidden and not shown:
            uow.log(actor, LogEntry("household:view", sorted(hidden), result="hidden"))
            uow.commit()
            raise HouseholdNotFound()
        uow.log(actor, LogEntry("household:view", [m.addressee_number for m in shown]))
        uow.commit()
    address = record_from_row(shown[0].record, None).address if shown else None
    return {
        "household_number": household_number,
        "version": hh.version,
        "status": hh.status,
        "householder": None if hh.householder in hidden else hh.householder,
        "address": to_plain(address) if address else {"address": hh.address},
        # `position` is the member's rank in 記載順 among those shown (j1010): the stored 記載順位 is only an
        # order key (a new 世帯主 is put before the others as min - 1), and a gap would hint at a hidden member.
        "members": [
            {**_member(m), "position": rank}
            for rank, m in enumerate(sorted(shown, key=lambda m: (m.position, m.addressee_number)), start=1)
        ],
        # 標準仕様書 j430: the household screen also shows members who were removed.
        "removed_members": [_member(m) for m in removed if m.addressee_number not in hidden],
    }


def _member(row: StoredResident) -> dict[str, Any]:
    record = record_from_row(row.record, None)
    return {
        "addressee_number": row.addressee_number,
        "relationship": row.relationship,
        "position": row.position,
        "family_name": record.family_name,
        "given_name": record.given_name,
        "family_name_kana": record.family_name_kana,
        "given_name_kana": record.given_name_kana,
        "birth_date": record.birth_date.isoformat(),
        "sex": record.sex,
        "status": row.status,
        "removal": to_plain(record.removal),
    }


def search(uow_factory: UnitOfWorkFactory, actor: Actor, params: Mapping[str, str]) -> dict[str, Any]:
    """Search (標準仕様書 j330/j340): people matching two of name / birth date / address, or one number.

    Each result says what it matched on: `matched_on` is `current` (today's name and address) or `history`
    (`history=true` only), and then `matched_history` lists, per criterion today's record does not meet, the
    latest earlier version that met it: `field` (`name`/`address`), its `value`, `version`, `changed_on` and
    `until` (the date of the change that replaced it).
    """
    authorize(uow_factory, actor, REGISTER_READ, "resident:search")
    query = parse_criteria(params)
    if query.uses_my_number:
        authorize(uow_factory, actor, MY_NUMBER_SEARCH, "resident:search:my_number")
    with uow_factory() as uow:
        rows = uow.queries.search(query)
        hidden = protection.screen(uow, actor, _pairs(rows), "resident:search")
        rows = [r for r in rows if r.addressee_number not in hidden]  # looks not found
        truncated = len(rows) > query.limit
        rows = rows[: query.limit]
        past = [r.addressee_number for r in rows if not _matches_now(r)]
        versions = uow.queries.matched_versions(query, past) if past else []
        uow.log(
            actor,
            LogEntry(
                "resident:search",
                [r.addressee_number for r in rows],
                detail=f"criteria={sorted(params)} results={len(rows)} from_history={len(past)}",
                facts={"criteria": sorted(params), "results": len(rows), "from_history": len(past)},
            ),
        )
        uow.commit()
    results = []
    for row in rows:
        view = resident_view(row, include_my_number=False)
        summary = {k: view[k] for k in SUMMARY_FIELDS}
        now = _matches_now(row)
        summary["matched_on"] = "current" if now else "history"
        summary["matched_history"] = [] if now else _matched_history(row, versions)
        results.append(summary)
    return {"results": results, "truncated": truncated}


def _matches_now(row: StoredResident) -> bool:
    """Whether today's record meets the name and address criteria (always, for a search without history)."""
    return bool(row.name_now) and bool(row.address_now)


def _matched_history(row: StoredResident, versions: list[MatchedVersion]) -> list[dict[str, Any]]:
    mine = [v for v in versions if v.addressee_number == row.addressee_number]
    found = []
    for field, now, hit in (("name", row.name_now, "name_hit"), ("address", row.address_now, "address_hit")):
        if now:
            continue
        hits = [v for v in mine if getattr(v, hit)]
        if not hits:
            continue
        last = hits[-1]
        after = next((v for v in mine if v.version > last.version), None)
        value = f"{last.family_name} {last.given_name}".strip() if field == "name" else last.address
        found.append(
            {
                "field": field,
                "value": value,
                "version": last.version,
                "changed_on": last.changed_on.isoformat(),
                "until": after.changed_on.isoformat() if after else None,
            }
        )
    return found


def _filing_view(row: StoredFiling, changes: list[FilingChange] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "filing_id": row.filing_id,
        "kind": row.kind,
        "change_reason": row.change_reason,
        "changed_on": row.changed_on.isoformat() if row.changed_on else None,
        "filed_on": row.filed_on.isoformat(),
        "late": row.late,
        "household_number": row.household_number,
        "staff_id": row.staff_id,
        "recorded_at": row.recorded_at.isoformat(),
        "approval_state": row.approval_state,
        "approved_by": row.approved_by,
        "reason": row.reason,
        "payload": row.payload,
    }
    if changes is not None:
        view["changes"] = [
            {"addressee_number": c.addressee_number, "change_reason": c.change_reason, "version": c.version}
            for c in changes
        ]
    return view


def _named(row: StoredFiling, changes: list[FilingChange]) -> set[str]:
    """Everyone a filing names: the persons it changed and the 宛名番号 its body names."""
    return {c.addressee_number for c in changes} | protection.numbers_in(row.payload)


def _screened_filing(
    row: StoredFiling, changes: list[FilingChange], hidden: set[str]
) -> dict[str, Any] | None:
    """A filing as an actor who may not see `hidden` sees it: one naming only hidden persons is not there (it
    looks not found); one naming others too shows their changes only, without its body and reason (which name
    and place everyone it concerns)."""
    named = _named(row, changes)
    if not named & hidden:
        return _filing_view(row, changes)
    if named <= hidden:
        return None
    view = _filing_view(row, [c for c in changes if c.addressee_number not in hidden])
    return {**view, "payload": None, "reason": None}


def get_filing(uow_factory: UnitOfWorkFactory, actor: Actor, filing_id: str) -> dict[str, Any]:
    authorize(uow_factory, actor, REGISTER_READ, "filing:view")
    with uow_factory() as uow:
        row = uow.queries.filing(filing_id)
        if row is None:
            raise FilingNotFound()
        changes = uow.queries.filing_changes(filing_id)
        named = _named(row, changes)
        hidden = protection.screen(uow, actor, named, "filing:view")
        view = _screened_filing(row, changes, hidden)
        result = "ok" if view is not None else "hidden"
        uow.log(actor, LogEntry("filing:view", sorted(named - hidden), detail=filing_id, result=result))
        uow.commit()
    if view is None:
        raise FilingNotFound()
    return view


def list_filings(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    late: bool | None = None,
    approval_state: str | None = None,
) -> dict[str, Any]:
    """The late-filing list (住基法第52条) and the approval queue are both filtered views of the filings, screened
    like one filing (支援措置)."""
    authorize(uow_factory, actor, REGISTER_READ, "filing:list")
    with uow_factory() as uow:
        rows = uow.queries.filings(late=late, approval_state=approval_state)
        changes = {r.filing_id: uow.queries.filing_changes(r.filing_id) for r in rows}
        named = set().union(*(_named(r, changes[r.filing_id]) for r in rows))
        hidden = protection.screen(uow, actor, named, "filing:list")
        views = [_screened_filing(r, changes[r.filing_id], hidden) for r in rows]
        uow.log(actor, LogEntry("filing:list", detail=f"late={late} state={approval_state}"))
        uow.commit()
    return {"filings": [v for v in views if v is not None]}


def move_out_certificate_data(
    uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str
) -> dict[str, Any]:
    """転出証明書 data as the 転出届 recorded it, kept with the removed record."""
    view = get_resident(uow_factory, actor, addressee_number)
    if not view.get("move_out"):
        raise NotFound("転出の記録がありません", "addressee_number")
    if view["move_out"].get("card"):  # 特例転出 (j670): the next city reads the 転出証明書情報 from the CS
        raise CardMoveOutNoCertificate()
    keys = (
        *SUMMARY_FIELDS,
        "resident_since",
        "address_since",
        "resident_code",
        "honseki",
        "family_register_head",
        "foreign",
        "move_out",
    )
    return {k: view.get(k) for k in keys}
