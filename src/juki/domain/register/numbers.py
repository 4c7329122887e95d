"""A person's numbers changing on their own (標準仕様書 4.3, 4.4): the 住民票コード drawn from the city's stock
(住民票コード記載, 住民票コード変更, 住基法30条の3・30条の4) and the 個人番号 J-LIS generated (個人番号指定・変更, 番号法7条・8条).

Each is one new version of one active person. The old code or number stays in the history (nothing is updated in
place); the CS reads the 旧住民票コード from the version before.
"""

from __future__ import annotations

import dataclasses

from juki.domain import commands as c
from juki.domain.errors import DuplicateMyNumber, InvalidField
from juki.domain.register.identity import check_unclaimed
from juki.domain.register.state import Outcome, RegisterReader, Work

CODE_REASONS = (c.RESIDENT_CODE_ENTRY, c.RESIDENT_CODE_CHANGE)
NUMBER_REASONS = (c.MY_NUMBER_ASSIGNED, c.MY_NUMBER_CHANGED)


def change_resident_code(reader: RegisterReader, cmd: c.ChangeResidentCode) -> Outcome:
    """住民票コード記載 gives a code to a record that has none; 住民票コード変更 replaces the one it has."""
    if cmd.change_reason not in CODE_REASONS:
        raise InvalidField("住民票コードの異動事由ではありません", "change_reason")
    work = Work(reader, cmd)
    state = work.active(cmd.addressee_number, "addressee_number")
    has_code = state.record.resident_code is not None
    if has_code != (cmd.change_reason == c.RESIDENT_CODE_CHANGE):
        message = "住民票コードがすでに記載されています" if has_code else "変更する住民票コードがありません"
        raise InvalidField(message, "addressee_number")
    code = work.draw_resident_code(cmd.addressee_number)
    work.household(state.record.household_number)  # loaded first: `record` then replaces the member in it
    work.record(dataclasses.replace(state.record, resident_code=code), cmd.change_reason, cmd.filed_on)
    return work.outcome(state.record.household_number)


def assign_my_number(reader: RegisterReader, cmd: c.AssignMyNumber) -> Outcome:
    """The number J-LIS answered, on the person the request was for: still that 住民票コード, and a number nobody
    else holds or held (番号法: one number per person, never reused)."""
    if cmd.change_reason not in NUMBER_REASONS:
        raise InvalidField("個人番号の異動事由ではありません", "change_reason")
    work = Work(reader, cmd)
    state = work.active(cmd.addressee_number, "addressee_number")
    old = state.record
    if old.resident_code != cmd.resident_code:
        raise InvalidField("要求した時の住民票コードと異なります", "resident_code")
    if (old.my_number is None) != (cmd.change_reason == c.MY_NUMBER_ASSIGNED):
        message = "個人番号がすでに指定されています" if old.my_number else "変更する個人番号がありません"
        raise InvalidField(message, "my_number")
    if old.my_number == cmd.my_number:
        raise InvalidField("変更前と同じ個人番号です", "my_number")
    new = dataclasses.replace(old, my_number=cmd.my_number)
    try:
        check_unclaimed(reader, old, new)
    except DuplicateMyNumber as exc:  # J-LIS's answer, not a correction: the field is the answer's
        raise DuplicateMyNumber(exc.message, "my_number") from exc
    work.household(old.household_number)
    work.record(new, cmd.change_reason, cmd.filed_on)
    return work.outcome(old.household_number)
