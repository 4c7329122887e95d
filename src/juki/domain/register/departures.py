"""Persons leaving — 転出, 死亡, 職権消除 — and the householder succession a departure may need (j100, j490)."""

from __future__ import annotations

import dataclasses
from datetime import date

from juki.domain import commands as c
from juki.domain.errors import (
    CardMoveOutDestinationRequired,
    InvalidField,
    MoveInBeforeMoveOutAddress,
    MoveOutAlreadyConfirmed,
    MoveOutNotFound,
)
from juki.domain.model import (
    REMOVED,
    HouseholdState,
    MoveInNoticeData,
    MoveOutData,
    Removal,
    ResidentRecord,
)
from juki.domain.register.state import (
    LATE_FILING_DAYS,
    Outcome,
    RegisterReader,
    ResidentState,
    Work,
    check_change_date,
    not_after,
)
from juki.domain.relationship import HOUSEHOLDER, inverse, rebase

# --- householder succession ---------------------------------------------------------------------------------


def succeed(
    work: Work,
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
    install_head(work, remaining, new_householder, new_relationships, changed_on, c.HOUSEHOLDER_CHANGE, head)


def install_head(
    work: Work,
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


def remove(
    work: Work,
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
        check_change_date(work, state, removal.removed_on, "changed_on")
    households = {s.record.household_number for s in states}
    if len(households) != 1:
        raise InvalidField("同じ世帯の住民を指定してください", "addressee_numbers")
    hh = work.household(households.pop())
    succeed(work, hh, set(numbers), new_householder, new_relationships, removal.removed_on)
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
    work = Work(reader, cmd)
    reason = c.MOVE_OUT_ABROAD if cmd.destination.country else c.MOVE_OUT
    if cmd.card and (cmd.destination.country or not cmd.destination.municipality_code):
        raise CardMoveOutDestinationRequired()
    data = MoveOutData(cmd.destination, cmd.planned_on, cmd.filed_on, card=cmd.card)
    ex_officio = (cmd.filed_on - cmd.planned_on).days > LATE_FILING_DAYS
    if ex_officio:
        work.warn(
            "late_move_out_recorded_ex_officio",
            "planned_on",
            "異動日から14日を過ぎた転出届のため、職権消除（消除事由 転出）として記録します",
        )
    hh = remove(
        work,
        cmd.addressee_numbers,
        Removal(reason, cmd.planned_on),
        cmd.new_householder,
        cmd.new_relationships,
        data,
        c.EX_OFFICIO_REMOVAL if ex_officio else None,
    )
    for number in cmd.addressee_numbers:
        work.transfers[number] = move_out_transfer(data)
    return work.outcome(hh.household_number, late_from=cmd.planned_on, primary=cmd.addressee_numbers)


def move_out_transfer(data: MoveOutData) -> dict[str, object]:
    """The events' `transfer` of a 転出 (docs/events.md): what the CS sends the destination (転出証明書情報)."""
    return {
        "card": data.card,
        "planned_on": data.planned_on.isoformat(),
        "destination_city_code": data.destination.municipality_code,
        "destination_address": data.destination.address,
    }


# --- 転入通知受理 (標準仕様書 j680, j50) ------------------------------------------------------------------------


def _moved_out(reader: RegisterReader, resident_code: str) -> tuple[ResidentState, MoveOutData]:
    """The 除票 of the person removed by 転出 holding `resident_code` (a late 転出 recorded by 職権 too: its 消除事由
    is 転出). Never anyone active, moved abroad, dead or removed for another reason."""
    for state in reader.holders(None, resident_code, None):
        r = state.record
        if r.resident_code != resident_code or r.is_active or r.move_out is None or r.removal is None:
            continue
        if r.removal.reason == c.MOVE_OUT:
            return state, r.move_out
    raise MoveOutNotFound()


def confirm_move_out(reader: RegisterReader, cmd: c.ConfirmMoveOut) -> Outcome:
    """転入通知受理: the 転出先（確定）, the 転出年月日（確定） and the 転入通知日 go beside the 予定 ones, which stay as
    the 転出届 gave them (j680); the 消除日 becomes the earlier of the 転出予定日 and the 転入日 (j50). A change of the
    除票 itself, so the household is not touched. A 転入日 before the person came to the address they left here is
    refused: they cannot have moved in elsewhere while still arriving here."""
    work = Work(reader, cmd)
    not_after(cmd.moved_in_on, cmd.notified_on, "moved_in_on", "転入通知日より後の転入日です")
    not_after(cmd.notified_on, cmd.filed_on, "notified_on", "受理日より後の転入通知日です")
    state, data = _moved_out(reader, cmd.resident_code)
    if data.confirmed is not None:
        raise MoveOutAlreadyConfirmed()
    record = state.record
    if cmd.moved_in_on < record.address_since:
        raise MoveInBeforeMoveOutAddress()
    if not cmd.destination.municipality_code:
        raise InvalidField("転出先の市町村コードが必要です", "destination_city_code")
    assert record.removal is not None  # _moved_out found a 除票
    removed_on = min(data.planned_on, cmd.moved_in_on)
    notice = MoveInNoticeData(cmd.notified_on, cmd.moved_in_on, cmd.destination)
    confirmed = dataclasses.replace(
        record,
        move_out=dataclasses.replace(data, confirmed=notice),
        removal=dataclasses.replace(record.removal, removed_on=removed_on),
    )
    work.states[record.addressee_number] = state
    work.record(confirmed, c.MOVE_OUT_CONFIRMED, removed_on, last_changed_on=removed_on)
    work.transfers[record.addressee_number] = {
        "moved_in_on": cmd.moved_in_on.isoformat(),
        "removed_on": removed_on.isoformat(),
        "destination_city_code": cmd.destination.municipality_code,
        "destination_address": cmd.destination.address,
    }
    return work.outcome(record.household_number, primary=(record.addressee_number,))


def register_death(reader: RegisterReader, cmd: c.RegisterDeath) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.died_on, cmd.filed_on, "died_on", "届出日より後の死亡日です")
    state = work.active(cmd.addressee_number, "addressee_number")
    not_after(state.record.birth_date, cmd.died_on, "died_on", "生年月日より前の死亡日です")
    hh = remove(
        work,
        (cmd.addressee_number,),
        Removal(c.DEATH, cmd.died_on),
        cmd.new_householder,
        cmd.new_relationships,
    )
    return work.outcome(hh.household_number, primary=(cmd.addressee_number,))


def ex_officio_removal(reader: RegisterReader, cmd: c.ExOfficioRemoval) -> Outcome:
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "処理日より後の異動日です")
    hh = remove(
        work,
        cmd.addressee_numbers,
        Removal(c.EX_OFFICIO_REMOVAL, cmd.changed_on),
        cmd.new_householder,
        cmd.new_relationships,
    )
    return work.outcome(hh.household_number, primary=cmd.addressee_numbers)
