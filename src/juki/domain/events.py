"""Register events: what happened to whom, in the register's own words, for every consumer of its changes.

A command's outcome carries one event per person it wrote (a household change touches several people; each gets
the event of the 異動事由 recorded on their page). The unit of work writes the events to the outbox in the
transaction that writes the versions, so a consumer (the 市町村CS, the 庁内連携 feed, the 中間サーバー copy, the
J-LIS 送付先情報) reads what happened without ever reading the register's tables. The schema is documented in
docs/events.md and versioned by `SCHEMA_VERSION`; a consumer refuses a version it does not know.

The body never holds a My Number. The adapter seals the number, when the record has one, with the event key
(adapters/event_key.py): only the consumers whose legal basis includes the number (番号法9条, 住基法30条の6) are given
that key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from juki.domain import commands as c
from juki.domain.model import REMOVED, ResidentRecord, to_plain
from juki.domain.redaction import redact

# 1: the outbox rows written before events had a body (only the version they point at). 2: this body.
SCHEMA_VERSION = 2

# One past-tense name per 異動事由 (API.md `change_reason`); the name says what happened, the reason keeps the
# register's own term for consumers that map it to their codes (住基ネット 異動事由コード, departments' codes).
EVENT_NAMES: dict[str, str] = {
    c.MOVE_IN: "ResidentMovedIn",
    c.MOVE_IN_FROM_ABROAD: "ResidentMovedInFromAbroad",
    c.MOVE_WITHIN: "ResidentMovedWithin",
    c.MOVE_OUT: "ResidentMovedOut",
    c.MOVE_OUT_ABROAD: "ResidentMovedAbroad",
    c.BIRTH: "ResidentBorn",
    c.DEATH: "ResidentDied",
    c.HOUSEHOLDER_CHANGE: "HouseholderChanged",
    c.SPLIT: "HouseholdSplit",
    c.MERGE: "HouseholdsMerged",
    c.EX_OFFICIO_ENTRY: "ResidentEnteredExOfficio",
    c.EX_OFFICIO_CORRECTION: "ResidentCorrectedExOfficio",
    c.SPECIAL_ADOPTION: "SpecialAdoptionRecorded",
    c.SPECIAL_ADOPTION_DISSOLVED: "SpecialAdoptionDissolved",
    c.GENDER_CHANGE: "GenderChangeRecorded",
    c.EX_OFFICIO_REMOVAL: "ResidentRemovedExOfficio",
    c.EX_OFFICIO_RESTORATION: "ResidentRestoredExOfficio",
    c.CANCELLATION_ADD: "ChangeCancelled",
    c.CANCELLATION_REMOVE: "ChangeCancelled",
    c.CANCELLATION_AMEND: "ChangeCancelled",
    c.MEMBER_ORDER: "MembersReordered",
    c.MINOR_CORRECTION: "MinorCorrectionRecorded",
    c.MOVE_OUT_CONFIRMED: "MoveOutConfirmed",
    c.RESIDENT_CODE_ENTRY: "ResidentCodeEntered",
    c.RESIDENT_CODE_CHANGE: "ResidentCodeChanged",
    c.MY_NUMBER_ASSIGNED: "MyNumberAssigned",
    c.MY_NUMBER_CHANGED: "MyNumberChanged",
}


def event_name(change_reason: str) -> str:
    """The event of a 異動事由. Every reason the domain records has one (tests/unit/test_events.py checks)."""
    return EVENT_NAMES[change_reason]


@dataclass(frozen=True)
class HouseholdAfter:
    """The household the person belongs to after the change (the one they left, for a removal)."""

    household_number: str
    address: str
    householder: str | None  # 宛名番号 of the 世帯主; None while the household has none (j100)
    member_count: int


@dataclass(frozen=True)
class RegisterEvent:
    name: str
    change_reason: str
    changed_on: date  # 異動日
    filed_on: date  # 届出日
    record: ResidentRecord  # the person's record items after the change (the My Number is sealed, not here)
    version: int  # the version of the person this change wrote
    household: HouseholdAfter
    previous_household_number: str | None  # before the change; None for a person new to the register
    persons: tuple[str, ...]  # every person the same command changed (宛名番号), this one included
    # The move between cities the 住基ネット passes on (転出・転入・転入通知受理; docs/events.md `transfer`), else None.
    transfer: dict[str, object] | None = None

    @property
    def addressee_number(self) -> str:
        return self.record.addressee_number

    @property
    def removed(self) -> bool:
        return self.record.status == REMOVED


@dataclass(frozen=True)
class RecordedBy:
    """Who wrote the change, from which terminal: the 住基ネット's 操作者ID and 操作端末ID travel with it."""

    staff_id: str
    terminal: str


def body(event: RegisterEvent, filing_id: str, recorded_by: RecordedBy) -> dict[str, Any]:
    """The event as the outbox stores it and every consumer reads it (docs/events.md): JSON, no My Number."""
    record = to_plain(event.record)
    has_my_number = record.pop("my_number", None) is not None
    return {
        "schema_version": SCHEMA_VERSION,
        "event": event.name,
        "change_reason": event.change_reason,
        "changed_on": event.changed_on.isoformat(),
        "filed_on": event.filed_on.isoformat(),
        "filing_id": filing_id,
        "recorded_by": {"staff_id": recorded_by.staff_id, "terminal": redact(recorded_by.terminal)},
        "addressee_number": event.addressee_number,
        "version": event.version,
        "removed": event.removed,
        "household": to_plain(event.household),
        "previous_household_number": event.previous_household_number,
        "persons": list(event.persons),
        "has_my_number": has_my_number,
        "record": record,
        "transfer": event.transfer,
    }


# --- protection and holds that other systems must keep (j410, j440) ------------------------------------------

PROTECTION_CHANGED = "ProtectionChanged"
SUPPORT = "support"  # 支援措置: the person's record is not shown or certified to third parties
CERTIFICATE_HOLD = "certificate_hold"  # 交付制限: a 抑止 of certificate issuance (証明書発行, error level)


def restriction_for_other_systems(
    kind: str, operations: tuple[str, ...] | list[str], level: str
) -> str | None:
    """What a measure restricts beyond the register, or None when it concerns the register only.

    j410: a hold of certificate issuance goes to コンビニ交付 and the 市町村CS (so 広域交付 is refused too); a hold
    of filing or view, or one that only warns (`alert`), stays in the register. j440: a 支援措置 travels with the
    person's 転出.
    """
    if kind == "support":
        return SUPPORT
    if "certificate" in operations and level == "error":
        return CERTIFICATE_HOLD
    return None


@dataclass(frozen=True)
class ProtectionEvent:
    """A measure that other systems keep, as it stands after a change: one event per person it covers.

    Only what a consumer needs to refuse: never the reason, the requester, the 避難先 or any free text.
    """

    addressee_number: str
    measure_id: str
    restriction: str  # SUPPORT or CERTIFICATE_HOLD
    action: str  # set, extended, confirmed, ended
    in_force_from: date
    in_force_until: date | None  # the day it is lifted (the measure's end date); None while it lasts
    ends_on: date  # the last day of the period decided (a 支援措置 is reviewed then, j160)
    provisional: bool  # 仮支援措置 (j440: it travels with a 転出 as well)
    changed_on: date
    persons: tuple[str, ...]  # every person the measure covers (a household measure: each member)


def protection_body(event: ProtectionEvent, recorded_by: RecordedBy) -> dict[str, Any]:
    """The event as the outbox stores it (docs/events.md, `ProtectionChanged`): no My Number, no address."""
    return {
        "schema_version": SCHEMA_VERSION,
        "event": PROTECTION_CHANGED,
        "measure_id": event.measure_id,
        "restriction": event.restriction,
        "action": event.action,
        "in_force_from": event.in_force_from.isoformat(),
        "in_force_until": event.in_force_until.isoformat() if event.in_force_until else None,
        "ends_on": event.ends_on.isoformat(),
        "provisional": event.provisional,
        "changed_on": event.changed_on.isoformat(),
        "recorded_by": {"staff_id": recorded_by.staff_id, "terminal": redact(recorded_by.terminal)},
        "addressee_number": event.addressee_number,
        "persons": list(event.persons),
        "has_my_number": False,
    }
