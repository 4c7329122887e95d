"""The register's rules: each command, given the state it reads, becomes the new versions it writes.

Every handler here is pure: it reads through `RegisterReader`, checks the logic rules (the seed's 論理チェック
and 標準仕様書 j1440's errors), and returns an `Outcome`. `check_household` runs on every household a command
touches, so no path can leave a household with two householders; one left with none (j100) is warned about.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from juki.domain import commands as c
from juki.domain.errors import (
    AlreadyResident,
    Conflict,
    DomainError,
    DuplicateMyNumber,
    DuplicateResidenceCardNumber,
    DuplicateResidentCode,
    HouseholderRequired,
    InvalidDate,
    InvalidField,
    LaterChangeExists,
    MultipleHouseholders,
    NotFound,
    NotResident,
)
from juki.domain.events import HouseholdAfter, RegisterEvent, event_name
from juki.domain.member_order import standard_order
from juki.domain.model import (
    ACTIVE,
    REMOVED,
    Address,
    HouseholdState,
    MoveOutData,
    Removal,
    ResidentRecord,
)
from juki.domain.relationship import HOUSEHOLDER, inverse, rebase

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


class _Work:
    """The state one command reads and the changes it accumulates."""

    def __init__(self, reader: RegisterReader, cmd: c.Command) -> None:
        self.reader = reader
        self.cmd = cmd
        self.states: dict[str, ResidentState] = {}
        self.households: dict[str, HouseholdState] = {}
        self.changes: list[Change] = []
        self.warnings: list[dict[str, str]] = []
        if cmd.filed_on > reader.today:
            raise InvalidDate("届出日が未来の日付です", "filed_on")

    def active(self, addressee_number: str, field_name: str) -> ResidentState:
        state = self.states.get(addressee_number) or self.reader.resident(addressee_number)
        if state is None:
            raise NotFound("該当する住民が見つかりません", field_name)
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
                raise NotFound("該当する世帯が見つかりません", field_name)
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
        return Outcome(household_number, changes, self.households, late, self.warnings, events)

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


def _not_after(earlier: date, later: date, field_name: str, message: str) -> None:
    if earlier > later:
        raise InvalidDate(message, field_name)


def _check_change_date(work: _Work, state: ResidentState, changed_on: date, field_name: str) -> None:
    _not_after(state.last_changed_on, changed_on, field_name, "前回の異動日より前の日付です")
    _not_after(state.record.birth_date, changed_on, field_name, "生年月日より前の日付です")


# --- persons arriving: move-in, ex officio entry, birth -----------------------------------------------------


# 標準仕様書 j600: a 除票 of these reasons belongs to someone who may come back and take their 宛名番号 again. A
# 取消（減） undid an entry made in error, so the same person may arrive properly later. A dead person never returns.
RETURNABLE = (c.MOVE_OUT, c.MOVE_OUT_ABROAD, c.EX_OFFICIO_REMOVAL, c.CANCELLATION_REMOVE)


@dataclass(frozen=True)
class _Identifier:
    """One of the numbers that name a person for life: its field, its duplicate error and its Japanese name."""

    key: str
    error: type[DomainError]
    label: str

    def of(self, holder: ResidentRecord | c.PersonInput) -> str | None:
        if self.key == "my_number":
            return holder.my_number
        if self.key == "resident_code":
            return holder.resident_code
        return holder.foreign.residence_card_number if holder.foreign else None


MY_NUMBER, RESIDENT_CODE, CARD = (
    _Identifier("my_number", DuplicateMyNumber, "個人番号"),
    _Identifier("resident_code", DuplicateResidentCode, "住民票コード"),
    _Identifier("foreign.residence_card_number", DuplicateResidenceCardNumber, "在留カード番号"),
)
_IDENTIFIERS = (MY_NUMBER, RESIDENT_CODE, CARD)
Given = dict[_Identifier, str | None]


def _given(holder: ResidentRecord | c.PersonInput) -> Given:
    return {ident: ident.of(holder) for ident in _IDENTIFIERS}


def _holders(reader: RegisterReader, given: Given) -> list[ResidentState]:
    return reader.holders(given[MY_NUMBER], given[RESIDENT_CODE], given[CARD])


def _shared(record: ResidentRecord, given: Given) -> list[_Identifier]:
    """The identifiers given that `record` holds too."""
    return [ident for ident, value in given.items() if value and value == ident.of(record)]


def _refuse(shared: list[_Identifier], prefix: str, rule: str) -> DomainError:
    """A collision: the code names the first identifier shared, the message the rule (never the number)."""
    ident = shared[0]
    return ident.error(f"この{ident.label}は別の住民の記録にあります（{rule}）", prefix + ident.key)


def _check_identity(work: _Work, p: c.PersonInput, i: int, may_return: bool) -> ResidentState | None:
    """A My Number, a 住民票コード and a 在留カード番号 name one person for life (j600). already_resident first
    (API.md), then any other holder, active or removed, refuses the person — except the one 除票 of a returning
    resident, which is returned so the person gets their 宛名番号 back."""
    prefix = f"persons.{i}."
    given = _given(p)
    found = _holders(work.reader, given)
    active = [s.record for s in found if s.record.is_active]
    for r in active:
        shared = _shared(r, given)
        same = (r.family_name, r.given_name, r.birth_date) == (p.family_name, p.given_name, p.birth_date)
        if RESIDENT_CODE in shared or same:  # API.md: the same person, already here
            named = RESIDENT_CODE if RESIDENT_CODE in shared else shared[0]
            raise AlreadyResident("すでに住民として記録されています", prefix + named.key)
    if active:
        raise _refuse(_shared(active[0], given), prefix, "現存の住民")
    if not found:
        return None
    back = found[0]
    shared = _shared(back.record, given)
    removal = back.record.removal
    if len({s.record.addressee_number for s in found}) > 1:
        raise _refuse(shared, prefix, "番号が別々の除票の住民を指しています")
    if not may_return:
        raise _refuse(shared, prefix, "出生した子に既存の住民の番号は記載できません")
    if removal is None or removal.reason == c.DEATH:
        raise _refuse(shared, prefix, "死亡により消除された住民は再転入できません")
    if removal.reason not in RETURNABLE:
        raise _refuse(shared, prefix, f"{removal.reason}の除票は再転入として回復できません")
    if back.record.birth_date != p.birth_date:
        raise _refuse(shared, prefix, "除票の住民と生年月日が異なります")
    _warn_returning_differs(work, back.record, p, i)
    return back


def _warn_returning_differs(work: _Work, old: ResidentRecord, p: c.PersonInput, i: int) -> None:
    """j600: a returning resident's name or sex may have changed since (婚姻, 性別変更): the clerk should look."""
    items = [
        label
        for label, before, now in (
            ("氏名", (old.family_name, old.given_name), (p.family_name, p.given_name)),
            ("性別", old.sex, p.sex),
        )
        if before != now
    ]
    if items:
        work.warn(
            "returning_resident_differs",
            f"persons.{i}",
            f"再転入の住民（宛名番号 {old.addressee_number}）の除票と{'・'.join(items)}が異なります",
        )


def _warn_same_three_info(work: _Work, p: c.PersonInput, i: int) -> None:
    """j600 / API.md: a match on name, sex and birth date alone is only a warning (アラート), never a refusal."""
    matches = work.reader.same_three_info(p.family_name, p.given_name, p.sex, p.birth_date)
    if matches:
        work.warnings.append(
            {
                "code": "possible_same_person",
                "field": f"persons.{i}",
                "message": "氏名・性別・生年月日が同じ住民が記録されています（宛名番号 "
                + "、".join(matches[:5])
                + "）",
            }
        )


def _check_batch_unique(persons: tuple[c.PersonInput, ...]) -> None:
    for ident in _IDENTIFIERS:
        seen: set[str] = set()
        for i, p in enumerate(persons):
            value = ident.of(p)
            if value and value in seen:
                raise ident.error(f"同じ{ident.label}が二人に記載されています", f"persons.{i}.{ident.key}")
            if value:
                seen.add(value)


def _new_record(
    work: _Work,
    p: c.PersonInput,
    returning: ResidentState | None,
    hh: HouseholdState,
    address: Address,
    since: date,
    previous: Address | None,
) -> ResidentRecord:
    position = max((m.position for m in hh.members), default=0) + 1
    if returning is not None:
        work.states[returning.record.addressee_number] = returning
    old = returning.record if returning else None
    return ResidentRecord(
        addressee_number=old.addressee_number if old else work.reader.next_addressee_number(),
        household_number=hh.household_number,
        relationship=p.relationship,
        position=position,
        family_name=p.family_name,
        given_name=p.given_name,
        family_name_kana=p.family_name_kana,
        given_name_kana=p.given_name_kana,
        sex=p.sex,
        birth_date=p.birth_date,
        address=address,
        resident_since=since,
        address_since=since,
        filed_on=work.cmd.filed_on,
        status=ACTIVE,
        honseki=p.honseki,
        family_register_head=p.family_register_head,
        # j70: a returning resident keeps the 旧氏 they had unless they ask otherwise.
        former_surname=p.former_surname or (old.former_surname if old else None),
        former_surname_kana=p.former_surname_kana or (old.former_surname_kana if old else None),
        previous_address=previous,
        resident_code=p.resident_code or (old.resident_code if old else None),
        my_number=p.my_number or (old.my_number if old else None),
        foreign=p.foreign,
        birth_date_unknown=p.birth_date_unknown,
        birth_date_unknown_parts=p.birth_date_unknown_parts,
    )


def _arrive(
    work: _Work,
    persons: tuple[c.PersonInput, ...],
    household_number: str | None,
    address: Address,
    changed_on: date,
    previous: Address | None,
    reason: str,
) -> HouseholdState:
    if not persons:
        raise InvalidField("住民を一人以上記載してください", "persons")
    _check_batch_unique(persons)
    may_return = reason != c.BIRTH  # a newborn has no 除票 to come back to
    returning = [_check_identity(work, p, i, may_return) for i, p in enumerate(persons)]
    back = [r.record.addressee_number for r in returning if r is not None]
    if len(set(back)) != len(back):
        raise InvalidField("二人の番号が同じ除票の住民を指しています", "persons")
    for i, (p, old) in enumerate(zip(persons, returning, strict=True)):
        if old is None:
            _warn_same_three_info(work, p, i)
    heads = [i for i, p in enumerate(persons) if p.relationship == HOUSEHOLDER]
    if household_number is None:
        if not heads:
            raise HouseholderRequired("新しい世帯には世帯主が必要です", "persons")
        if len(heads) > 1:
            raise MultipleHouseholders("世帯主が二人記載されています", f"persons.{heads[1]}.relationship")
        hh = work.new_household(address)
    else:
        hh = work.household(household_number, "household.household_number")
        if len(heads) > 1 or (heads and hh.householder is not None):
            raise MultipleHouseholders(
                "この世帯にはすでに世帯主がいます", f"persons.{heads[-1]}.relationship"
            )
        if hh.address.address != address.address:
            raise InvalidField("世帯の住所と異なる住所です", "address")
        address = dataclasses.replace(address, katagaki=address.katagaki or hh.address.katagaki)
    for i, p in enumerate(persons):
        _not_after(p.birth_date, changed_on, f"persons.{i}.birth_date", "異動日より後の生年月日です")
        record = _new_record(work, p, returning[i], hh, address, changed_on, previous)
        work.record(record, reason, changed_on)
    return hh


def move_in(reader: RegisterReader, cmd: c.MoveIn) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の転入日です")
    reason = c.MOVE_IN_FROM_ABROAD if cmd.previous_address.country else c.MOVE_IN
    hh = _arrive(
        work, cmd.persons, cmd.household_number, cmd.address, cmd.changed_on, cmd.previous_address, reason
    )
    return work.outcome(hh.household_number, late_from=cmd.changed_on)


def ex_officio_entry(reader: RegisterReader, cmd: c.ExOfficioEntry) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    hh = _arrive(
        work, cmd.persons, cmd.household_number, cmd.address, cmd.changed_on, None, c.EX_OFFICIO_ENTRY
    )
    return work.outcome(hh.household_number)


def register_birth(reader: RegisterReader, cmd: c.RegisterBirth) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.birth_date, cmd.filed_on, "birth_date", "届出日より後の出生日です")
    if cmd.person.birth_date != cmd.birth_date:
        raise InvalidDate("出生日と生年月日が一致しません", "person.birth_date")
    hh = work.household(cmd.household_number)
    hh_address = hh.address
    _arrive(work, (cmd.person,), cmd.household_number, hh_address, cmd.birth_date, None, c.BIRTH)
    return work.outcome(hh.household_number)


# --- householder succession ---------------------------------------------------------------------------------


def _succeed(
    work: _Work,
    hh: HouseholdState,
    leaving: set[str],
    new_householder: str | None,
    new_relationships: dict[str, str],
    changed_on: date,
) -> None:
    """When the 世帯主 leaves (標準仕様書 j490): the one member who remains becomes 世帯主 by 職権; of two or more,
    the one named in `new_householder` does, else the household goes on without one (j100) and the clerk is
    warned (`outcome`)."""
    head = hh.householder
    remaining = [m for m in hh.members if m.addressee_number not in leaving]
    if head is None or head.addressee_number not in leaving or not remaining:
        return
    if len(remaining) == 1:
        new_householder = remaining[0].addressee_number
        work.warn(
            "householder_change_notice",
            "new_householder",
            f"残る世帯員（宛名番号 {new_householder}）を職権で世帯主としました。世帯主変更通知書を交付してください",
        )
    if new_householder is None:
        return
    _install_head(work, remaining, new_householder, new_relationships, changed_on, c.HOUSEHOLDER_CHANGE, head)


def _install_head(
    work: _Work,
    members: list[ResidentRecord],
    new_head: str,
    new_relationships: dict[str, str],
    changed_on: date,
    reason: str,
    old_head: ResidentRecord | None,
) -> None:
    by_number = {m.addressee_number: m for m in members}
    if new_head not in by_number:
        raise InvalidField("新しい世帯主は世帯員から指定してください", "new_householder")
    head = by_number[new_head]
    top = min(m.position for m in members) - 1
    work.record(dataclasses.replace(head, relationship=HOUSEHOLDER, position=top), reason, changed_on)
    unknown = []
    for m in members:
        if m.addressee_number == new_head:
            continue
        if old_head is not None and m.addressee_number == old_head.addressee_number:
            rel = new_relationships.get(m.addressee_number) or inverse(head.relationship, m.sex)
        else:
            rel = new_relationships.get(m.addressee_number) or rebase(m.relationship, head.relationship)
        if rel is None:
            unknown.append(m.addressee_number)
        elif rel != m.relationship:
            work.record(dataclasses.replace(m, relationship=rel), reason, changed_on)
    if unknown:
        raise InvalidField(
            "新しい世帯主との続柄を指定してください: " + ", ".join(unknown), "new_relationships"
        )


# --- persons leaving: move-out, death, ex officio removal ---------------------------------------------------


def _remove(
    work: _Work,
    numbers: tuple[str, ...],
    removal: Removal,
    new_householder: str | None,
    new_relationships: dict[str, str],
    move_out: MoveOutData | None = None,
    change_reason: str | None = None,
) -> HouseholdState:
    """消除 of `numbers`, recorded as `change_reason` (default: the removal's reason)."""
    if not numbers:
        raise InvalidField("住民を一人以上指定してください", "addressee_numbers")
    states = [work.active(n, f"addressee_numbers.{i}") for i, n in enumerate(numbers)]
    for state in states:
        _check_change_date(work, state, removal.removed_on, "changed_on")
    households = {s.record.household_number for s in states}
    if len(households) != 1:
        raise InvalidField("同じ世帯の住民を指定してください", "addressee_numbers")
    hh = work.household(households.pop())
    _succeed(work, hh, set(numbers), new_householder, new_relationships, removal.removed_on)
    for state in states:
        record = dataclasses.replace(
            work.current(state.record.addressee_number),
            status=REMOVED,
            removal=removal,
            move_out=move_out,
            filed_on=work.cmd.filed_on,
        )
        work.record(record, change_reason or removal.reason, removal.removed_on)
    return hh


def move_out(reader: RegisterReader, cmd: c.MoveOut) -> Outcome:
    """転出. Filed more than 14 days after the 異動日 it is no 届出 any more (標準仕様書 j640): the counter still
    takes it, but the register records a 職権消除 whose reason (消除事由) is the 転出, destination kept for the
    certificate that stands in for the 転出証明書 (j660)."""
    work = _Work(reader, cmd)
    reason = c.MOVE_OUT_ABROAD if cmd.destination.country else c.MOVE_OUT
    data = MoveOutData(cmd.destination, cmd.planned_on, cmd.filed_on)
    ex_officio = (cmd.filed_on - cmd.planned_on).days > LATE_FILING_DAYS
    if ex_officio:
        work.warn(
            "late_move_out_recorded_ex_officio",
            "planned_on",
            "異動日から14日を過ぎた転出届のため、職権消除（消除事由 転出）として記録します",
        )
    hh = _remove(
        work,
        cmd.addressee_numbers,
        Removal(reason, cmd.planned_on),
        cmd.new_householder,
        cmd.new_relationships,
        data,
        c.EX_OFFICIO_REMOVAL if ex_officio else None,
    )
    return work.outcome(hh.household_number, late_from=cmd.planned_on, primary=cmd.addressee_numbers)


def register_death(reader: RegisterReader, cmd: c.RegisterDeath) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.died_on, cmd.filed_on, "died_on", "届出日より後の死亡日です")
    state = work.active(cmd.addressee_number, "addressee_number")
    _not_after(state.record.birth_date, cmd.died_on, "died_on", "生年月日より前の死亡日です")
    hh = _remove(
        work,
        (cmd.addressee_number,),
        Removal(c.DEATH, cmd.died_on),
        cmd.new_householder,
        cmd.new_relationships,
    )
    return work.outcome(hh.household_number, primary=(cmd.addressee_number,))


def ex_officio_removal(reader: RegisterReader, cmd: c.ExOfficioRemoval) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    hh = _remove(
        work,
        cmd.addressee_numbers,
        Removal(c.EX_OFFICIO_REMOVAL, cmd.changed_on),
        cmd.new_householder,
        cmd.new_relationships,
    )
    return work.outcome(hh.household_number, primary=cmd.addressee_numbers)


# --- moves and regrouping inside the city ---------------------------------------------------------------------


def _regroup(
    work: _Work,
    movers: list[ResidentState],
    target: HouseholdState,
    householder: str | None,
    new_relationships: dict[str, str],
    changed_on: date,
    reason: str,
    address: Address | None,
) -> None:
    """Put `movers` into `target` (a new household headed by `householder`, or an existing one)."""
    numbers = [s.record.addressee_number for s in movers]
    if target.is_new:
        if householder not in numbers:
            raise InvalidField("新しい世帯の世帯主は異動する住民から指定してください", "householder")
        head_old = next(s.record.relationship for s in movers if s.record.addressee_number == householder)
    else:
        head_old = None
    start = max((m.position for m in target.members), default=0) + 1
    missing = []
    for offset, state in enumerate(movers):
        r = work.current(state.record.addressee_number)
        if r.addressee_number == householder:
            rel: str | None = HOUSEHOLDER
        else:
            rel = new_relationships.get(r.addressee_number) or (
                rebase(r.relationship, head_old) if head_old else None
            )
        if rel is None:
            missing.append(r.addressee_number)
            continue
        moved = dataclasses.replace(
            r, household_number=target.household_number, relationship=rel, position=start + offset
        )
        if address is not None:
            moved = dataclasses.replace(
                moved, address=address, address_since=changed_on, previous_address=r.address
            )
        work.record(moved, reason, changed_on)
    if missing:
        raise InvalidField("世帯主との続柄を指定してください: " + ", ".join(missing), "new_relationships")


def move_within(reader: RegisterReader, cmd: c.MoveWithin) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の転居日です")
    hh = work.household(cmd.household_number)
    movers = _members_of(work, hh, cmd.addressee_numbers)
    for s in movers:
        _check_change_date(work, s, cmd.changed_on, "changed_on")
    whole = {s.record.addressee_number for s in movers} == {m.addressee_number for m in hh.members}
    if cmd.join_household_number:
        target = work.household(cmd.join_household_number, "join_household_number")
        if target.address.address != cmd.address.address:
            raise InvalidField("転居先の世帯の住所と異なります", "address")
    elif whole:
        target = hh
        hh.address = cmd.address
    elif cmd.new_household:
        target = work.new_household(cmd.address)
    else:
        raise InvalidField(
            "世帯の一部が転居する場合は新しい世帯か転居先の世帯を指定してください", "new_household"
        )
    if target is not hh:
        _succeed(
            work,
            hh,
            set(cmd.addressee_numbers),
            cmd.new_householder,
            cmd.new_relationships,
            cmd.changed_on,
        )
        _regroup(
            work,
            movers,
            target,
            cmd.householder,
            cmd.new_relationships,
            cmd.changed_on,
            c.MOVE_WITHIN,
            cmd.address,
        )
    else:
        for s in movers:
            r = s.record
            work.record(
                dataclasses.replace(
                    r,
                    address=cmd.address,
                    address_since=cmd.changed_on,
                    previous_address=r.address,
                    filed_on=cmd.filed_on,
                ),
                c.MOVE_WITHIN,
                cmd.changed_on,
            )
    return work.outcome(target.household_number, late_from=cmd.changed_on, primary=cmd.addressee_numbers)


def _members_of(work: _Work, hh: HouseholdState, numbers: tuple[str, ...]) -> list[ResidentState]:
    if not numbers:
        raise InvalidField("住民を一人以上指定してください", "addressee_numbers")
    members = {m.addressee_number for m in hh.members}
    states = []
    for i, n in enumerate(numbers):
        state = work.active(n, f"addressee_numbers.{i}")
        if n not in members:
            raise InvalidField("指定した世帯の世帯員ではありません", f"addressee_numbers.{i}")
        states.append(state)
    return states


def change_household(reader: RegisterReader, cmd: c.ChangeHousehold) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の異動日です")
    hh = work.household(cmd.household_number)
    for m in hh.members:
        _check_change_date(
            work, work.active(m.addressee_number, "household_number"), cmd.changed_on, "changed_on"
        )
    if cmd.type == "householder_change":
        if cmd.new_householder is None:
            raise InvalidField("新しい世帯主を指定してください", "new_householder")
        if hh.householder and hh.householder.addressee_number == cmd.new_householder:
            raise InvalidField("すでに世帯主です", "new_householder")
        _install_head(
            work,
            list(hh.members),
            cmd.new_householder,
            cmd.new_relationships,
            cmd.changed_on,
            c.HOUSEHOLDER_CHANGE,
            hh.householder,
        )
        return work.outcome(hh.household_number, late_from=cmd.changed_on)
    if cmd.type == "split":
        movers = _members_of(work, hh, cmd.addressee_numbers)
        if len(movers) == len(hh.members):
            raise InvalidField("世帯の全員は分離できません", "addressee_numbers")
        target = work.new_household(hh.address)
        _succeed(
            work, hh, set(cmd.addressee_numbers), cmd.new_householder, cmd.new_relationships, cmd.changed_on
        )
        _regroup(work, movers, target, cmd.householder, cmd.new_relationships, cmd.changed_on, c.SPLIT, None)
        return work.outcome(target.household_number, late_from=cmd.changed_on, primary=cmd.addressee_numbers)
    if cmd.type == "merge":
        if not cmd.into_household_number or cmd.into_household_number == cmd.household_number:
            raise InvalidField("合併先の世帯を指定してください", "into_household_number")
        target = work.household(cmd.into_household_number, "into_household_number")
        if target.address.address != hh.address.address:
            raise InvalidField("同じ住所の世帯としか合併できません", "into_household_number")
        movers = [work.active(m.addressee_number, "household_number") for m in hh.members]
        _regroup(work, movers, target, None, cmd.new_relationships, cmd.changed_on, c.MERGE, None)
        return work.outcome(target.household_number, late_from=cmd.changed_on)
    raise InvalidField("世帯変更の種類は householder_change, split, merge のいずれかです", "type")


# --- the order of members (記載順位, 標準仕様書 j1010) ---------------------------------------------------------


def _manual_order(current: list[ResidentRecord], order: tuple[str, ...]) -> list[ResidentRecord]:
    """The clerk's order: every current member exactly once, the 世帯主 first."""
    by_number = {m.addressee_number: m for m in current}
    seen: set[str] = set()
    for i, number in enumerate(order):
        if number not in by_number:
            raise InvalidField("この世帯の現存の世帯員ではありません", f"addressee_numbers.{i}")
        if number in seen:
            raise InvalidField("同じ世帯員が二度指定されています", f"addressee_numbers.{i}")
        seen.add(number)
    missing = [m.addressee_number for m in current if m.addressee_number not in seen]
    if missing:
        raise InvalidField(
            "世帯員全員の順を指定してください（不足: " + "、".join(missing) + "）", "addressee_numbers"
        )
    has_head = any(m.relationship == HOUSEHOLDER for m in current)
    if has_head and by_number[order[0]].relationship != HOUSEHOLDER:
        raise InvalidField("世帯主を先頭にしてください", "addressee_numbers.0")
    return [by_number[n] for n in order]


def reorder_members(reader: RegisterReader, cmd: c.ReorderMembers) -> Outcome:
    """記載順位の変更: the household's members in the standard order, or in the clerk's.

    The members keep the position numbers they hold between them (a household whose numbers are 1, 3, 4 keeps
    1, 3, 4), so only a member whose place changes gets a new version — one that changes `position` and nothing
    else. The order has no legal date of its own: each version carries the member's last 異動日 as `changed_on`
    (a later filing dated before today is still accepted), and today as its `filed_on`.
    """
    work = _Work(reader, cmd)
    hh = work.household(cmd.household_number)
    if cmd.expected_version is not None and cmd.expected_version != hh.version:
        raise Conflict("世帯が他の操作で更新されました。もう一度照会してください", "version")
    current = sorted(hh.members, key=lambda m: (m.position, m.addressee_number))
    wanted = standard_order(current) if cmd.order is None else _manual_order(current, cmd.order)
    slots = sorted(m.position for m in current)
    if len(set(slots)) != len(slots):  # two members on one number (older data): number them afresh
        slots = list(range(1, len(current) + 1))
    moved = []
    for member, slot in zip(wanted, slots, strict=True):
        if member.position != slot:
            state = work.active(member.addressee_number, "addressee_numbers")
            work.record(dataclasses.replace(member, position=slot), c.MEMBER_ORDER, state.last_changed_on)
            moved.append(member.addressee_number)
    return work.outcome(hh.household_number, primary=tuple(moved))


# --- ex officio corrections, restoration, cancellation -----------------------------------------------------

CORRECTABLE = {
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "sex",
    "birth_date",
    "birth_date_unknown",
    "birth_date_unknown_parts",
    "former_surname",
    "former_surname_kana",
    "honseki",
    "family_register_head",
    "resident_code",
    "my_number",
    "relationship",
    "foreign",
    "voter_registered",
    "school_district",
    "voting_district",
    "resident_since",
    "national_health_insurance",
    "late_elderly_insurance",
    "long_term_care_insurance",
    "national_pension",
    "child_allowance",
}


def ex_officio_correction(reader: RegisterReader, cmd: c.ExOfficioCorrection) -> Outcome:
    work = _Work(reader, cmd)
    _not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    state = work.active(cmd.addressee_number, "addressee_number")
    unknown = set(cmd.corrections) - CORRECTABLE
    if unknown or not cmd.corrections:
        raise InvalidField("修正できない項目です: " + ", ".join(sorted(unknown)), "corrections")
    if cmd.change_reason not in c.CORRECTION_REASONS:
        raise InvalidField("職権修正の異動事由が正しくありません", "change_reason")
    corrected = dataclasses.replace(state.record, **cmd.corrections)  # type: ignore[arg-type]
    if cmd.change_reason == c.GENDER_CHANGE and corrected.sex == state.record.sex:
        raise InvalidField("性別変更には新しい性別を指定してください", "corrections.sex")
    _check_unclaimed(reader, state.record, corrected)
    _not_after(
        corrected.birth_date,
        corrected.resident_since,
        "corrections.birth_date",
        "住民となった日より後の生年月日です",
    )
    work.household(state.record.household_number)
    work.record(corrected, cmd.change_reason, cmd.changed_on)
    return work.outcome(state.record.household_number)


def _check_unclaimed(reader: RegisterReader, old: ResidentRecord, new: ResidentRecord) -> None:
    """An identifier a correction gives the person must be no one else's, active or removed (j600)."""
    given = {ident: value if value != ident.of(old) else None for ident, value in _given(new).items()}
    for other in _holders(reader, given):
        if other.record.addressee_number != old.addressee_number:
            raise _refuse(
                _shared(other.record, given), "corrections.", "修正で別の住民の番号は記載できません"
            )


def ex_officio_restoration(reader: RegisterReader, cmd: c.ExOfficioRestoration) -> Outcome:
    """職権回復: a wrongly removed record returns, as it was before the removal (its 届出日 too), to its household."""
    work = _Work(reader, cmd)
    state = reader.resident(cmd.addressee_number)
    if state is None:
        raise NotFound("該当する住民が見つかりません", "addressee_number")
    if state.record.is_active:
        raise InvalidField("消除されていない住民は回復できません", "addressee_number")
    work.states[cmd.addressee_number] = state
    found = reader.household(state.record.household_number)
    if found is None or not found.members:
        hh = HouseholdState(
            state.record.household_number,
            state.record.address,
            [],
            version=found.version if found else 0,
            is_new=found is None,
        )
        work.households[hh.household_number] = hh
        record = dataclasses.replace(state.record, relationship=HOUSEHOLDER)
    else:
        work.households[found.household_number] = found
        record = state.record
    prior = reader.version_state(cmd.addressee_number, state.version - 1) if state.version > 1 else None
    filed_on = prior.record.filed_on if prior else record.filed_on
    restored = dataclasses.replace(record, status=ACTIVE, removal=None, move_out=None, filed_on=filed_on)
    work.record(restored, c.EX_OFFICIO_RESTORATION, cmd.changed_on)
    return work.outcome(restored.household_number)


def _cancellation_reason(cancelled: ResidentRecord, restored: ResidentRecord) -> str:
    """標準仕様書 j980: 取消（増） brings a person back, 取消（減） takes one off, 取消（修正） restores items. Undoing a
    change of 記載順位 alone is itself one (j1010: no 異動, not printed as history)."""
    if dataclasses.replace(cancelled, position=restored.position, filed_on=restored.filed_on) == restored:
        return c.MEMBER_ORDER
    if restored.is_active and not cancelled.is_active:
        return c.CANCELLATION_ADD
    if cancelled.is_active and not restored.is_active:
        return c.CANCELLATION_REMOVE
    return c.CANCELLATION_AMEND


def _cancelled_persons(reader: RegisterReader, cmd: c.CancelFiling) -> list[tuple[str, int]]:
    touched = reader.filing_versions(cmd.filing_id)
    if not touched:
        raise NotFound("該当する届出が見つかりません", "filing_id")
    if not cmd.addressee_numbers:
        return touched
    versions = dict(touched)
    for i, n in enumerate(cmd.addressee_numbers):
        if n not in versions:
            raise InvalidField("この届出で異動した住民ではありません", f"addressee_numbers.{i}")
    return [(n, versions[n]) for n in dict.fromkeys(cmd.addressee_numbers)]


def _check_nothing_later(
    reader: RegisterReader, cmd: c.CancelFiling, chosen: list[tuple[str, ResidentState, ResidentState | None]]
) -> None:
    """j980: any change may be cancelled unless a later one builds on it — a later version of a person it changed,
    or a later change of someone it did not change who now lives in a household it touched. That one is named."""
    everyone = [n for n, _ in reader.filing_versions(cmd.filing_id) or []]
    households = {s.record.household_number for _, s, _ in chosen} | {
        b.record.household_number for _, _, b in chosen if b is not None
    }
    later = reader.later_change(cmd.filing_id, [n for n, _, _ in chosen], sorted(households), everyone)
    if later is not None:
        raise LaterChangeExists(
            f"この異動の後の異動（届出番号 {later}）があるため取り消せません。後の異動から取り消してください",
            "filing_id",
        )


def cancel_filing(reader: RegisterReader, cmd: c.CancelFiling) -> Outcome:
    """取消し appends (j980): each person gets a new version equal to their record before the filing — its 届出日
    and 異動日 too. The cancellation's own date is the history entry's `filed_on`; the entry's `changed_on` is
    the 異動日 of the change it cancels."""
    work = _Work(reader, cmd)
    chosen = []
    stale = False
    for addressee_number, version in _cancelled_persons(reader, cmd):
        state = reader.resident(addressee_number)
        if state is None:
            raise NotFound("該当する住民が見つかりません", "filing_id")
        before = reader.version_state(addressee_number, version - 1) if version > 1 else None
        chosen.append((addressee_number, state, before))
        stale = stale or state.version != version
    _check_nothing_later(reader, cmd, chosen)
    if stale:  # later_change found none, yet a version is not the filing's: refuse all the same
        raise LaterChangeExists("この異動の後の異動があるため取り消せません", "filing_id")
    primary = ""
    for addressee_number, state, before in chosen:
        work.states[addressee_number] = state
        if state.record.is_active:
            work.household_of(state.record.household_number)
        if before is None:  # the filing created this person: the cancellation removes the entry again
            restored = dataclasses.replace(
                state.record, status=REMOVED, removal=Removal(c.CANCELLATION_REMOVE, state.last_changed_on)
            )
            last = state.last_changed_on
        else:
            restored, last = before.record, before.last_changed_on
        if restored.is_active:  # the household goes back with its members (a cancelled 転居 of all of them)
            work.household_of(restored.household_number).address = restored.address
        reason = _cancellation_reason(state.record, restored)
        work.record(restored, reason, state.last_changed_on, last)
        primary = primary or restored.household_number
    return work.outcome(primary, primary=tuple(n for n, _, _ in chosen))
