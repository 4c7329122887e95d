"""Persons leaving — 転出, 死亡, 職権消除 — and the householder succession a departure may need (j100, j490)."""

from __future__ import annotations

import dataclasses
from datetime import date

from juki.domain import commands as c
from juki.domain.errors import (
    InvalidField,
)
from juki.domain.model import (
    REMOVED,
    HouseholdState,
    MoveOutData,
    Removal,
    ResidentRecord,
)
from juki.domain.register.state import (
    LATE_FILING_DAYS,
    Outcome,
    RegisterReader,
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
    data = MoveOutData(cmd.destination, cmd.planned_on, cmd.filed_on)
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
    return work.outcome(hh.household_number, late_from=cmd.planned_on, primary=cmd.addressee_numbers)


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
