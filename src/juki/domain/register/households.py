"""Moves and regrouping inside the city (転居, 世帯変更: 世帯主変更, 世帯分離, 世帯合併) and the order of members
(記載順位, 標準仕様書 j1010)."""

from __future__ import annotations

import dataclasses
from datetime import date

from juki.domain import commands as c
from juki.domain.errors import (
    Conflict,
    InvalidField,
)
from juki.domain.member_order import standard_order
from juki.domain.model import (
    Address,
    HouseholdState,
    ResidentRecord,
)
from juki.domain.register.departures import (
    install_head,
    succeed,
)
from juki.domain.register.state import (
    Outcome,
    RegisterReader,
    ResidentState,
    Work,
    check_change_date,
    not_after,
)
from juki.domain.relationship import HOUSEHOLDER, rebase


def _regroup(
    work: Work,
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
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の転居日です")
    hh = work.household(cmd.household_number)
    movers = members_of(work, hh, cmd.addressee_numbers)
    for s in movers:
        check_change_date(work, s, cmd.changed_on, "changed_on")
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
        succeed(
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


def members_of(work: Work, hh: HouseholdState, numbers: tuple[str, ...]) -> list[ResidentState]:
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
    work = Work(reader, cmd)
    not_after(cmd.changed_on, cmd.filed_on, "changed_on", "届出日より後の異動日です")
    hh = work.household(cmd.household_number)
    for m in hh.members:
        check_change_date(
            work, work.active(m.addressee_number, "household_number"), cmd.changed_on, "changed_on"
        )
    if cmd.type == "householder_change":
        if cmd.new_householder is None:
            raise InvalidField("新しい世帯主を指定してください", "new_householder")
        if hh.householder and hh.householder.addressee_number == cmd.new_householder:
            raise InvalidField("すでに世帯主です", "new_householder")
        install_head(
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
        movers = members_of(work, hh, cmd.addressee_numbers)
        if len(movers) == len(hh.members):
            raise InvalidField("世帯の全員は分離できません", "addressee_numbers")
        target = work.new_household(hh.address)
        succeed(
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
    work = Work(reader, cmd)
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
