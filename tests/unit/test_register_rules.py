"""The register's rules on an in-memory register (no database): households, succession, relationships."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from juki.domain import commands as c
from juki.domain import register
from juki.domain.errors import (
    AlreadyResident,
    DuplicateMyNumber,
    DuplicateResidenceCardNumber,
    DuplicateResidentCode,
    InvalidDate,
    InvalidField,
    MultipleHouseholders,
    NotResident,
)
from juki.domain.model import Address, ForeignResidentItems, HouseholdState, Removal, ResidentRecord
from juki.domain.relationship import inverse, normalize_relationship, rebase
from tests.fakes import FakeRegister

HOME = Address("東京都小平市小川町一丁目100番地5", postal_code="1870032", municipality_code="132110")
ELSEWHERE = Address("東京都武蔵野市吉祥寺本町一丁目1番1号", municipality_code="132039")


def person(
    relationship: str = "世帯主",
    given: str = "太郎",
    born: date = date(1980, 4, 1),
    sex: str = "male",
    **over: object,
) -> c.PersonInput:
    base = c.PersonInput("山田", given, "ヤマダ", "タロウ", born, sex, relationship)
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


def move_in(reg: FakeRegister, *persons: c.PersonInput, household: str | None = None) -> register.Outcome:
    cmd = c.MoveIn(date(2025, 6, 2), date(2025, 6, 1), ELSEWHERE, HOME, persons, household)
    return reg.apply(register.move_in(reg, cmd))


def family(reg: FakeRegister) -> tuple[str, list[str]]:
    out = move_in(
        reg,
        person(),
        person("妻", "花子", date(1982, 7, 7), "female"),
        person("子", "一郎", date(2010, 5, 5)),
        person("子の妻", "美咲", date(2009, 1, 1), "female"),
    )
    return out.household_number, [ch.record.addressee_number for ch in out.changes]


def relationships(reg: FakeRegister, hh: str) -> list[str]:
    found = reg.household(hh)
    assert found is not None
    return [m.relationship for m in found.members]


def test_a_household_may_have_no_householder_but_never_two():
    """標準仕様書 j100: a household without a 世帯主 is allowed; two are not."""
    member = ResidentRecord(
        "0000000019",
        "0000000019",
        "子",
        1,
        "山田",
        "一郎",
        "ヤマダ",
        "イチロウ",
        "male",
        date(2010, 1, 1),
        HOME,
        date(2020, 1, 1),
        date(2020, 1, 1),
        date(2020, 1, 1),
    )
    register.check_household(HouseholdState("0000000019", HOME, [member]))
    head = dataclasses.replace(member, addressee_number="0000000027", relationship="世帯主")
    other_head = dataclasses.replace(member, relationship="世帯主")
    with pytest.raises(MultipleHouseholders):
        register.check_household(HouseholdState("0000000019", HOME, [head, other_head]))


def test_move_in_numbers_people_in_order_and_puts_them_in_one_new_household():
    reg = FakeRegister()
    hh, numbers = family(reg)
    assert relationships(reg, hh) == ["世帯主", "妻", "子", "子の妻"]
    assert len(set(numbers)) == 4


def test_a_person_already_active_cannot_move_in_again():
    reg = FakeRegister()
    move_in(reg, person(resident_code="12345678901"))
    with pytest.raises(AlreadyResident):
        move_in(reg, person(resident_code="12345678901"))


def test_when_the_son_takes_over_his_wife_becomes_wife_and_the_father_needs_the_clerks_word():
    reg = FakeRegister()
    hh, (head, wife, son, sons_wife) = family(reg)
    cmd = c.ChangeHousehold(
        date(2025, 6, 20), date(2025, 6, 20), "householder_change", hh, new_householder=son
    )
    with pytest.raises(InvalidField) as err:
        register.change_household(reg, cmd)
    assert wife in err.value.message and sons_wife not in err.value.message
    cmd = dataclasses.replace(cmd, new_relationships={wife: "母"})
    reg.apply(register.change_household(reg, cmd))
    found = reg.household(hh)
    assert found is not None
    assert {m.addressee_number: m.relationship for m in found.members} == {
        son: "世帯主",
        head: "父",
        wife: "母",
        sons_wife: "妻",
    }


def test_death_of_a_person_already_removed_is_refused():
    reg = FakeRegister()
    _, numbers = family(reg)
    death = c.RegisterDeath(date(2025, 6, 20), date(2025, 6, 19), numbers[2])
    reg.apply(register.register_death(reg, death))
    with pytest.raises(NotResident):
        register.register_death(reg, death)


def test_a_change_dated_before_the_last_change_is_out_of_order():
    reg = FakeRegister()
    _hh, numbers = family(reg)
    cmd = c.MoveOut(date(2025, 6, 20), date(2025, 5, 1), (numbers[3],), ELSEWHERE)
    with pytest.raises(InvalidDate):
        register.move_out(reg, cmd)


def test_move_out_of_the_whole_household_leaves_it_empty():
    reg = FakeRegister()
    hh, numbers = family(reg)
    out = reg.apply(
        register.move_out(reg, c.MoveOut(date(2025, 6, 20), date(2025, 6, 25), tuple(numbers), ELSEWHERE))
    )
    assert [ch.change_reason for ch in out.changes] == ["転出"] * 4
    assert relationships(reg, hh) == []


@pytest.mark.parametrize("text", ["孫", "祖父", "子の子の子の子の子", "", "世帯主の妻"])
def test_relationships_outside_the_standard_are_refused(text):
    with pytest.raises(InvalidField):
        normalize_relationship(text)


@pytest.mark.parametrize(
    "text",
    ["世帯主", "妻（未届）", "妻(未届)", "子の子", "子の妻", "父の母", "縁故者", "同居人", "子の子の子の子"],
)
def test_relationships_of_the_standard_are_accepted(text):
    assert normalize_relationship(text) == text.replace("(", "（").replace(")", "）")


def test_rebase_and_inverse_follow_the_new_householder():
    assert rebase("子の妻", "子") == "妻"
    assert rebase("子の子", "子") == "子"
    assert rebase("子", "妻") == "子"
    assert rebase("父", "子") is None
    assert (
        inverse("妻", "male") == "夫"
        and inverse("子", "female") == "母"
        and inverse("同居人", "male") is None
    )


def test_a_same_name_sex_and_birth_date_is_only_a_warning():
    reg = FakeRegister()
    first = move_in(reg, person())
    second = move_in(reg, person())  # no numbers given: the clerk decides whether it is the same person
    assert second.warnings and second.warnings[0]["code"] == "possible_same_person"
    assert first.changes[0].record.addressee_number in second.warnings[0]["message"]


# --- identifiers name one person for life (標準仕様書 j600) -------------------------------------------------------

MY_NUMBER = "123456789018"
CODE = "12345678901"
OTHER = dict(family_name="佐藤", given_name="次郎", birth_date=date(1990, 1, 1))


def removed(reg: FakeRegister, how: str, **numbers: object) -> str:
    """One person moved in with `numbers`, then removed by 死亡, 転出 or 職権消除; their 宛名番号."""
    number = move_in(reg, person(**numbers)).changes[0].record.addressee_number
    on, filed = date(2025, 6, 10), date(2025, 6, 11)
    if how == "death":
        reg.apply(register.register_death(reg, c.RegisterDeath(filed, on, number)))
    elif how == "move_out":
        reg.apply(register.move_out(reg, c.MoveOut(filed, on, (number,), ELSEWHERE)))
    else:
        reg.apply(register.ex_officio_removal(reg, c.ExOfficioRemoval(filed, on, "居住実態なし", (number,))))
    return number


def move_in_later(reg: FakeRegister, *persons: c.PersonInput) -> register.Outcome:
    cmd = c.MoveIn(date(2025, 6, 25), date(2025, 6, 20), ELSEWHERE, HOME, persons)
    return register.move_in(reg, cmd)


@pytest.mark.parametrize("same_person", [False, True])
def test_a_dead_persons_my_number_never_moves_in_again(same_person):
    reg = FakeRegister()
    dead = removed(reg, "death", my_number=MY_NUMBER)
    newcomer = person(my_number=MY_NUMBER) if same_person else person(my_number=MY_NUMBER, **OTHER)
    with pytest.raises(DuplicateMyNumber) as err:
        move_in_later(reg, newcomer)
    assert err.value.field == "persons.0.my_number" and "死亡" in err.value.message
    assert MY_NUMBER not in err.value.message
    assert reg.residents[dead].record.removal.reason == "死亡"  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["move_out", "ex_officio_removal"])
def test_a_returning_resident_is_the_one_with_the_same_number_and_birth_date(how):
    reg = FakeRegister()
    old = removed(reg, how, my_number=MY_NUMBER, resident_code=CODE)
    with pytest.raises(DuplicateMyNumber) as err:
        move_in_later(reg, person(my_number=MY_NUMBER, **OTHER))
    assert "生年月日" in err.value.message
    with pytest.raises(DuplicateResidentCode):
        move_in_later(reg, person(resident_code=CODE, **OTHER))
    married = person(
        my_number=MY_NUMBER, family_name="佐藤", sex="female"
    )  # same birth date, new name and sex
    back = reg.apply(move_in_later(reg, married))
    assert back.changes[0].record.addressee_number == old and back.changes[0].previous_version == 2
    assert [w["code"] for w in back.warnings] == ["returning_resident_differs"]
    assert "氏名・性別" in back.warnings[0]["message"]


def test_a_birth_never_takes_a_removed_persons_number():
    reg = FakeRegister()
    for how, code in (("death", CODE), ("move_out", "98765432107")):
        removed(reg, how, resident_code=code)
        hh = move_in(reg, person(given="一", born=date(1970, 1, 1))).household_number
        child = person("子", "蓮", date(2025, 6, 20), resident_code=code)
        with pytest.raises(DuplicateResidentCode):
            register.register_birth(reg, c.RegisterBirth(date(2025, 6, 21), date(2025, 6, 20), hh, child))


def test_ex_officio_entry_and_correction_never_take_a_dead_persons_number():
    reg = FakeRegister()
    removed(reg, "death", my_number=MY_NUMBER)
    entry = c.ExOfficioEntry(
        date(2025, 6, 25), date(2025, 6, 20), "調査", HOME, (person(my_number=MY_NUMBER),)
    )
    with pytest.raises(DuplicateMyNumber):
        register.ex_officio_entry(reg, entry)
    living = move_in(reg, person(**OTHER)).changes[0].record.addressee_number
    fix = c.ExOfficioCorrection(
        date(2025, 6, 25), date(2025, 6, 25), "誤記", living, {"my_number": MY_NUMBER}
    )
    with pytest.raises(DuplicateMyNumber) as err:
        register.ex_officio_correction(reg, fix)
    assert err.value.field == "corrections.my_number"


def test_a_residence_card_number_names_one_person_too():
    reg = FakeRegister()
    card = ForeignResidentItems("ベトナム", "中長期在留者", residence_card_number="AB12345678CD")
    removed(reg, "death", foreign=card)
    with pytest.raises(DuplicateResidenceCardNumber) as err:
        move_in_later(reg, person(foreign=card, **OTHER))
    assert err.value.field == "persons.0.foreign.residence_card_number"


# --- the householder leaves (標準仕様書 j100, j490) ----------------------------------------------------------------


def test_householder_dying_with_two_or_more_left_warns_and_leaves_the_household_without_one():
    reg = FakeRegister()
    hh, (head, *_others) = family(reg)
    out = reg.apply(register.register_death(reg, c.RegisterDeath(date(2025, 6, 20), date(2025, 6, 19), head)))
    assert [ch.record.addressee_number for ch in out.changes] == [head]
    assert [w["code"] for w in out.warnings] == ["householder_required"]
    assert relationships(reg, hh) == ["妻", "子", "子の妻"]
    # j100: someone may join it as its 世帯主
    joined = move_in(reg, person(given="次郎", born=date(1985, 1, 1)), household=hh)  # move_in applies it
    assert joined.warnings == [] and relationships(reg, hh)[-1] == "世帯主"


def test_householder_leaving_one_member_makes_them_householder_by_a_change_of_its_own():
    reg = FakeRegister()
    out = move_in(reg, person(), person("妻", "花子", date(1982, 7, 7), "female"))
    head, wife = (ch.record.addressee_number for ch in out.changes)
    cmd = c.MoveOut(date(2025, 6, 20), date(2025, 6, 25), (head,), ELSEWHERE)
    done = reg.apply(register.move_out(reg, cmd))
    assert [(ch.record.addressee_number, ch.change_reason) for ch in done.changes] == [
        (head, "転出"),
        (wife, "世帯主変更"),
    ]
    assert [w["code"] for w in done.warnings] == ["householder_change_notice"]
    assert relationships(reg, out.household_number) == ["世帯主"]


# --- a late 転出 is recorded by 職権 (標準仕様書 j640) -----------------------------------------------------------------


@pytest.mark.parametrize(("filed", "reason", "warned"), [(15, "転出", False), (16, "職権消除", True)])
def test_a_move_out_filed_more_than_fourteen_days_after_the_move_is_recorded_ex_officio(
    filed, reason, warned
):
    reg = FakeRegister()
    _hh, numbers = family(reg)
    moved = date(2025, 6, 5)
    cmd = c.MoveOut(date(2025, 6, filed) + (moved - date(2025, 6, 1)), moved, (numbers[3],), ELSEWHERE)
    out = reg.apply(register.move_out(reg, cmd))
    assert out.changes[0].change_reason == reason
    assert out.changes[0].record.removal == Removal("転出", moved)  # 消除事由: the 転出, for j600 and j660
    assert out.changes[0].record.move_out is not None
    assert ("late_move_out_recorded_ex_officio" in [w["code"] for w in out.warnings]) is warned


# --- change reasons that certificates hide (標準仕様書 j40) ----------------------------------------------------------


def test_a_gender_change_is_its_own_change_reason_and_must_change_the_sex():
    reg = FakeRegister()
    _hh, numbers = family(reg)
    same = c.ExOfficioCorrection(
        date(2025, 6, 20), date(2025, 6, 20), "審判", numbers[2], {"sex": "male"}, change_reason="性別変更"
    )
    with pytest.raises(InvalidField):
        register.ex_officio_correction(reg, same)
    changed = dataclasses.replace(same, corrections={"sex": "female", "given_name": "一美"})
    assert register.ex_officio_correction(reg, changed).changes[0].change_reason == "性別変更"
