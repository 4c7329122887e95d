"""The register's working state: what a command reads (`RegisterReader`), what it accumulates (`Work`) and what it
returns (`Outcome`: the versions, the households, the warnings and the events); the household invariants every
command's households pass (`check_household`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from juki.domain import commands as c
from juki.domain.errors import (
    HouseholdNotFound,
    InvalidDate,
    InvalidField,
    MultipleHouseholders,
    NotResident,
    ResidentCodeStockEmpty,
    ResidentNotFound,
)
from juki.domain.events import HouseholdAfter, RegisterEvent, event_name
from juki.domain.model import (
    Address,
    HouseholdState,
    ResidentRecord,
)
from juki.domain.relationship import HOUSEHOLDER

LATE_FILING_DAYS = (
    14  # 住基法第22条〜第25条: a filing is due within 14 days; later ones are reported (第52条)
)


@dataclass(frozen=True)
class ResidentState:
    record: ResidentRecord
    version: int
    last_changed_on: date


class RegisterReader(Protocol):
    today: date

    def resident(self, addressee_number: str) -> ResidentState | None: ...
    def household(self, household_number: str) -> HouseholdState | None: ...
    def holders(
        self, my_number: str | None, resident_code: str | None, card: str | None
    ) -> list[ResidentState]:
        """Every record, active or removed, holding any of the identifiers given (a few at most)."""
        ...

    def filing_versions(self, filing_id: str) -> list[tuple[str, int]] | None: ...
    def later_change(
        self,
        filing_id: str,
        addressee_numbers: list[str],
        household_numbers: list[str],
        others_than: list[str],
    ) -> str | None:
        """The first filing after `filing_id` that changed one of `addressee_numbers`, or changed someone not in
        `others_than` who is now an active member of one of `household_numbers`; None if there is none."""
        ...

    def same_three_info(self, family_name: str, given_name: str, sex: str, birth_date: date) -> list[str]: ...
    def version_state(self, addressee_number: str, version: int) -> ResidentState | None:
        """The record as it was at `version`, with the latest 異動日 up to it."""
        ...

    def next_addressee_number(self) -> str: ...
    def next_household_number(self) -> str: ...
    def draw_resident_code(self, exclude: frozenset[str]) -> str | None:
        """An unused 住民票コード of the city's stock chosen at random (標準仕様書 j870), none of `exclude` (drawn
        already by this command); None when the stock has none left."""
        ...


@dataclass(frozen=True)
class Change:
    record: ResidentRecord
    change_reason: str
    changed_on: date
    filed_on: date
    previous_version: int  # 0 for a new person
    # The latest 異動日 the person has after this change, when not `changed_on`: a 取消し restores the one before.
    last_changed_on: date | None = None
    previous_household_number: str | None = None  # before the command; None for a person new to the register


@dataclass
class Outcome:
    household_number: str
    changes: list[Change] = field(default_factory=list)
    households: dict[str, HouseholdState] = field(default_factory=dict)
    late: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)  # アラート: valid, but worth a look (j1440)
    events: list[RegisterEvent] = field(
        default_factory=list
    )  # one per change, for the outbox (domain/events.py)
    # 住民票コード taken from the city's stock by this command: code → 宛名番号 (written as the stock's uses).
    drawn_codes: dict[str, str] = field(default_factory=dict)


class Work:
    """The state one command reads and the changes it accumulates."""

    def __init__(self, reader: RegisterReader, cmd: c.Command) -> None:
        self.reader = reader
        self.cmd = cmd
        self.states: dict[str, ResidentState] = {}
        self.households: dict[str, HouseholdState] = {}
        self.changes: list[Change] = []
        self.warnings: list[dict[str, str]] = []
        # What the 住基ネット needs to pass a person's move between cities on (the events' `transfer`), by 宛名番号.
        self.transfers: dict[str, dict[str, object]] = {}
        self.drawn_codes: dict[str, str] = {}
        if cmd.filed_on > reader.today:
            raise InvalidDate("届出日が未来の日付です", "filed_on")

    def active(self, addressee_number: str, field_name: str) -> ResidentState:
        state = self.states.get(addressee_number) or self.reader.resident(addressee_number)
        if state is None:
            raise ResidentNotFound(field=field_name)
        if not state.record.is_active:
            raise NotResident("消除された住民には行えない異動です", field_name)
        self.states[addressee_number] = state
        return state

    def household(
        self, household_number: str, field_name: str = "household_number", allow_empty: bool = False
    ) -> HouseholdState:
        if household_number not in self.households:
            found = self.reader.household(household_number)
            if found is None or not (found.members or allow_empty):
                raise HouseholdNotFound(field=field_name)
            self.households[household_number] = found
        return self.households[household_number]

    def new_household(self, address: Address) -> HouseholdState:
        hh = HouseholdState(self.reader.next_household_number(), address, [], is_new=True)
        self.households[hh.household_number] = hh
        return hh

    def record(
        self, new: ResidentRecord, reason: str, changed_on: date, last_changed_on: date | None = None
    ) -> None:
        """Write a new version of a person and keep the household lists in step."""
        state = self.states.get(new.addressee_number) or self.reader.resident(new.addressee_number)
        previous = state.version if state else 0
        for hh in self.households.values():
            hh.members = [m for m in hh.members if m.addressee_number != new.addressee_number]
        if new.is_active:
            self.household_of(new.household_number).members.append(new)
        before = state.record.household_number if state else None
        self.changes.append(
            Change(new, reason, changed_on, self.cmd.filed_on, previous, last_changed_on, before)
        )  # merged in outcome()
        last = last_changed_on or (max(changed_on, state.last_changed_on) if state else changed_on)
        # The state keeps the version as read, not +1: every change of this command builds on that version.
        self.states[new.addressee_number] = ResidentState(new, previous, last)

    def household_of(self, household_number: str) -> HouseholdState:
        return self.households.get(household_number) or self.household(household_number, allow_empty=True)

    def current(self, addressee_number: str) -> ResidentRecord:
        return self.states[addressee_number].record

    def draw_resident_code(self, addressee_number: str) -> str:
        """A 住民票コード from the city's stock for a person who has none (住基法30条の3); never a record without one
        (j60): with the stock empty the command is refused."""
        code = self.reader.draw_resident_code(frozenset(self.drawn_codes))
        if code is None:
            raise ResidentCodeStockEmpty()
        self.drawn_codes[code] = addressee_number
        return code

    def warn(self, code: str, field_name: str, message: str) -> None:
        if not any(w["code"] == code and w["field"] == field_name for w in self.warnings):
            self.warnings.append({"code": code, "field": field_name, "message": message})

    def outcome(
        self, household_number: str, late_from: date | None = None, primary: tuple[str, ...] = ()
    ) -> Outcome:
        """Check every touched household; list the persons the command named first (API.md `changes`)."""
        for hh in self.households.values():
            hh.members.sort(key=lambda m: m.position)
            check_household(hh)
            if hh.members and hh.householder is None:  # j100: allowed, and sent on so; j490: worth a word
                self.warn(
                    "householder_required",
                    "new_householder",
                    f"世帯主のいない世帯です（世帯番号 {hh.household_number}）。世帯主変更の届出を案内してください",
                )
        late = late_from is not None and (self.cmd.filed_on - late_from).days > LATE_FILING_DAYS
        order = {n: i for i, n in enumerate(primary)}
        changes = sorted(
            _merge_changes(self.changes), key=lambda ch: order.get(ch.record.addressee_number, len(order))
        )
        events = [self._event(ch, changes) for ch in changes]
        return Outcome(
            household_number, changes, self.households, late, self.warnings, events, self.drawn_codes
        )

    def _event(self, ch: Change, changes: list[Change]) -> RegisterEvent:
        """What happened to one person, with the household they are in after it (the one left, if removed)."""
        number = ch.record.household_number
        hh = self.households.get(number) or self.reader.household(number)
        head = hh.householder if hh else None
        after = HouseholdAfter(
            number,
            hh.address.address if hh else ch.record.address.address,
            head.addressee_number if head else None,
            len(hh.members) if hh else 0,
        )
        return RegisterEvent(
            event_name(ch.change_reason),
            ch.change_reason,
            ch.changed_on,
            ch.filed_on,
            ch.record,
            ch.previous_version + 1,
            after,
            ch.previous_household_number,
            tuple(other.record.addressee_number for other in changes),
            self.transfers.get(ch.record.addressee_number),
        )


def _merge_changes(changes: list[Change]) -> list[Change]:
    """One version per person per command: a person changed twice keeps the first reason and the last record."""
    merged: dict[str, Change] = {}
    for ch in changes:
        key = ch.record.addressee_number
        first = merged.get(key)
        merged[key] = (
            dataclasses.replace(
                ch,
                change_reason=first.change_reason,
                previous_version=first.previous_version,
                previous_household_number=first.previous_household_number,
            )
            if first
            else ch
        )
    return list(merged.values())


def check_household(hh: HouseholdState) -> None:
    """The household invariants: at most one 世帯主 (標準仕様書 j100 allows none), each member once, all at the
    household's address."""
    heads = [m for m in hh.members if m.relationship == HOUSEHOLDER]
    if any(m.address.address != hh.address.address for m in hh.members):
        raise InvalidField("世帯員の住所が世帯の住所と異なります", "address")
    if len(heads) > 1:
        raise MultipleHouseholders("世帯主が二人になります", "relationship")
    if len({m.addressee_number for m in hh.members}) != len(hh.members):
        raise InvalidField("同じ住民が世帯に二度記載されます", "addressee_numbers")


def not_after(earlier: date, later: date, field_name: str, message: str) -> None:
    if earlier > later:
        raise InvalidDate(message, field_name)


def check_change_date(work: Work, state: ResidentState, changed_on: date, field_name: str) -> None:
    not_after(state.last_changed_on, changed_on, field_name, "前回の異動日より前の日付です")
    not_after(state.record.birth_date, changed_on, field_name, "生年月日より前の日付です")
