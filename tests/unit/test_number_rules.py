"""The numbers' rules on an in-memory register: a 住民票コード drawn from the stock for a person recorded for the first
time (住基法30条の3, 標準仕様書 j870, j60), 住民票コード記載・変更, and the 個人番号 J-LIS answered (個人番号指定・変更)."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

import pytest

from juki.domain import commands as c
from juki.domain import register
from juki.domain.errors import DuplicateMyNumber, InvalidField, ResidentCodeStockEmpty
from juki.domain.identifiers import generate_my_number, validate_resident_code
from juki.domain.model import Address
from juki.domain.number_notices import CHANGE_NOTICE, NOTICE, CodeChange, code_notice, code_since
from tests.fakes import STOCK, FakeRegister

HOME = Address("東京都小平市小川町一丁目100番地5", postal_code="1870032", municipality_code="132110")
ELSEWHERE = Address("東京都武蔵野市吉祥寺本町一丁目1番1号", municipality_code="132039")
ABROAD = Address("アメリカ合衆国", country="アメリカ合衆国")
TODAY = date(2025, 6, 30)


def person(relationship: str = "世帯主", given: str = "太郎", **over: object) -> c.PersonInput:
    base = c.PersonInput("山田", given, "ヤマダ", "タロウ", date(1980, 4, 1), "male", relationship)
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


def settled(reg: FakeRegister) -> tuple[str, str]:
    """A household of one who moved in from another city with the code the 転出証明書 gave."""
    cmd = c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ELSEWHERE, HOME, (person(resident_code=STOCK[-1]),))
    out = reg.apply(register.move_in(reg, cmd))
    return out.household_number, out.changes[0].record.addressee_number


def birth(reg: FakeRegister, household: str) -> register.Outcome:
    child = person("子", "蓮", birth_date=date(2025, 6, 10))
    cmd = c.RegisterBirth(date(2025, 6, 11), date(2025, 6, 10), household, child)
    return reg.apply(register.register_birth(reg, cmd))


def test_a_newborn_gets_a_code_from_the_stock_in_the_births_own_outcome():
    reg = FakeRegister(TODAY)
    household, _ = settled(reg)
    out = birth(reg, household)
    code = out.changes[0].record.resident_code
    assert code is not None and code in STOCK
    assert validate_resident_code(code) == code
    assert out.drawn_codes == {code: out.changes[0].record.addressee_number}


def test_the_code_a_person_brings_is_kept_and_none_is_drawn_for_a_move_from_another_city():
    reg = FakeRegister(TODAY)
    cmd = c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ELSEWHERE, HOME, (person(resident_code=STOCK[-1]),))
    out = register.move_in(reg, cmd)
    assert out.changes[0].record.resident_code == STOCK[-1]
    assert out.drawn_codes == {}
    without = c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ELSEWHERE, HOME, (person(),))
    assert register.move_in(reg, without).changes[0].record.resident_code is None  # 転入: never drawn anew


def test_a_family_from_abroad_gets_one_code_each_and_no_code_twice():
    reg = FakeRegister(TODAY)
    people = (person(), person("妻", "花子", sex="female"), person("子", "一郎", birth_date=date(2010, 5, 5)))
    out = reg.apply(register.move_in(reg, c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ABROAD, HOME, people)))
    codes = [ch.record.resident_code for ch in out.changes]
    assert len(set(codes)) == 3 and set(codes) <= set(STOCK)


def test_with_the_stock_empty_a_birth_is_refused_and_nothing_is_written():
    reg = FakeRegister(TODAY)
    household, _ = settled(reg)
    reg.stock = [STOCK[-1]]  # only the code the householder already holds
    before = dict(reg.residents)
    with pytest.raises(ResidentCodeStockEmpty) as refused:
        birth(reg, household)
    assert refused.value.code == "resident_code_stock_empty" and refused.value.status == 409
    assert reg.residents == before


def test_a_code_change_draws_a_new_code_and_the_old_one_stays_in_the_history():
    reg = FakeRegister(TODAY)
    _, number = settled(reg)
    cmd = c.ChangeResidentCode(TODAY, number, c.RESIDENT_CODE_CHANGE)
    out = reg.apply(register.change_resident_code(reg, cmd))
    new = out.changes[0].record.resident_code
    assert new not in (None, STOCK[-1])
    assert out.changes[0].change_reason == "住民票コード変更"
    assert reg.history[number, 1].record.resident_code == STOCK[-1]
    assert reg.history[number, 2].record.resident_code == new


def test_code_entry_is_for_a_record_without_one_and_change_for_one_with_one():
    reg = FakeRegister(TODAY)
    _, number = settled(reg)
    with pytest.raises(InvalidField):
        register.change_resident_code(reg, c.ChangeResidentCode(TODAY, number, c.RESIDENT_CODE_ENTRY))
    cmd = c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ELSEWHERE, HOME, (person(given="次郎"),))
    bare = reg.apply(register.move_in(reg, cmd)).changes[0].record.addressee_number
    with pytest.raises(InvalidField):
        register.change_resident_code(reg, c.ChangeResidentCode(TODAY, bare, c.RESIDENT_CODE_CHANGE))
    out = register.change_resident_code(reg, c.ChangeResidentCode(TODAY, bare, c.RESIDENT_CODE_ENTRY))
    assert out.changes[0].record.resident_code in STOCK


def test_the_number_jlis_answered_is_set_as_its_own_change_on_the_code_it_was_asked_for():
    reg = FakeRegister(TODAY)
    household, _ = settled(reg)
    child = birth(reg, household).changes[0].record
    number = generate_my_number(random.Random(8))
    cmd = c.AssignMyNumber(
        TODAY, child.addressee_number, str(child.resident_code), number, c.MY_NUMBER_ASSIGNED
    )
    out = reg.apply(register.assign_my_number(reg, cmd))
    assert out.changes[0].record.my_number == number
    assert out.changes[0].change_reason == "個人番号指定"
    wrong_code = dataclasses.replace(cmd, resident_code=STOCK[-1])
    with pytest.raises(InvalidField):  # an answer for another 住民票コード
        register.assign_my_number(reg, wrong_code)
    with pytest.raises(InvalidField):  # 指定 once: a second one is a 変更
        register.assign_my_number(reg, cmd)


def test_a_number_someone_else_holds_is_refused():
    reg = FakeRegister(TODAY)
    household, head = settled(reg)
    child = birth(reg, household).changes[0].record
    held = generate_my_number(random.Random(9))
    first = c.AssignMyNumber(TODAY, head, STOCK[-1], held, c.MY_NUMBER_ASSIGNED)  # the householder's number
    reg.apply(register.assign_my_number(reg, first))
    cmd = c.AssignMyNumber(
        TODAY, child.addressee_number, str(child.resident_code), held, c.MY_NUMBER_ASSIGNED
    )
    with pytest.raises(DuplicateMyNumber):
        register.assign_my_number(reg, cmd)


def test_the_notice_is_the_change_notice_after_a_code_change_and_names_the_day_the_code_came():
    first = CodeChange("転入", date(2025, 6, 1), "12345678901")
    moved = CodeChange("転居", date(2025, 6, 20), "12345678901")
    changed = CodeChange("住民票コード変更", date(2025, 6, 30), "10987654321")
    person = {
        "family_name": "山田",
        "given_name": "太郎",
        "birth_date": "1980-04-01",
        "address": HOME.address,
    }
    assert code_since([first, moved]) == first
    notice = code_notice(person, [first, moved], "小平市", TODAY)
    assert notice is not None and notice.title == NOTICE and notice.recorded_on == "令和7年6月1日"
    notice = code_notice(person, [first, moved, changed], "小平市", TODAY)
    assert notice is not None and notice.title == CHANGE_NOTICE and notice.resident_code == "10987654321"
    assert code_notice(person, [CodeChange("転入", date(2025, 6, 1), None)], "小平市", TODAY) is None
