"""The register's rules on an in-memory register (no database): households, succession, relationships."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from juki.domain import commands as c
from juki.domain import register
from juki.domain.errors import (
    AlreadyResident,
    HouseholderRequired,
    InvalidDate,
    InvalidField,
    MultipleHouseholders,
    NotResident,
)
from juki.domain.identifiers import make_addressee_number, make_household_number
from juki.domain.model import Address, HouseholdState, ResidentRecord
from juki.domain.register import ResidentState
from juki.domain.relationship import inverse, normalize_relationship, rebase

HOME = Address("東京都小平市小川町一丁目100番地5", postal_code="1870032", municipality_code="132110")
ELSEWHERE = Address("東京都武蔵野市吉祥寺本町一丁目1番1号", municipality_code="132039")


class FakeRegister:
    """A `RegisterReader` over dicts; `apply` stores an outcome as the SQL writer would."""

    def __init__(self, today: date = date(2025, 6, 30)) -> None:
        self.today = today
        self.residents: dict[str, ResidentState] = {}
        self.households: dict[str, str] = {}
        self.seq = {"a": 0, "h": 0}

    def resident(self, addressee_number: str) -> ResidentState | None:
        return self.residents.get(addressee_number)

    def household(self, household_number: str) -> HouseholdState | None:
        if household_number not in self.households:
            return None
        members = sorted(
            (
                s.record
                for s in self.residents.values()
                if s.record.household_number == household_number and s.record.is_active
            ),
            key=lambda r: r.position,
        )
        return HouseholdState(household_number, members[0].address if members else HOME, members)

    def active_by_resident_code(self, code: str) -> ResidentRecord | None:
        return next(
            (
                s.record
                for s in self.residents.values()
                if s.record.resident_code == code and s.record.is_active
            ),
            None,
        )

    def active_by_my_number(self, my_number: str) -> ResidentRecord | None:
        return next(
            (
                s.record
                for s in self.residents.values()
                if s.record.my_number == my_number and s.record.is_active
            ),
            None,
        )

    def returning(self, my_number, resident_code, card):  # type: ignore[no-untyped-def]
        return [
            s
            for s in self.residents.values()
            if not s.record.is_active
            and (
                (my_number and s.record.my_number == my_number)
                or (resident_code and s.record.resident_code == resident_code)
            )
        ]

    def same_three_info(self, family_name, given_name, sex, birth_date):  # type: ignore[no-untyped-def]
        return [
            s.record.addressee_number
            for s in self.residents.values()
            if (s.record.family_name, s.record.given_name, s.record.sex, s.record.birth_date)
            == (family_name, given_name, sex, birth_date)
        ]

    def filing_versions(self, filing_id: str):  # type: ignore[no-untyped-def]
        return None

    def version_record(self, addressee_number: str, version: int):  # type: ignore[no-untyped-def]
        return None

    def next_addressee_number(self) -> str:
        self.seq["a"] += 1
        return make_addressee_number(self.seq["a"])

    def next_household_number(self) -> str:
        self.seq["h"] += 1
        return make_household_number(self.seq["h"])

    def apply(self, outcome: register.Outcome) -> register.Outcome:
        for hh in outcome.households.values():
            self.households[hh.household_number] = hh.household_number
        for ch in outcome.changes:
            self.residents[ch.record.addressee_number] = ResidentState(
                ch.record, ch.previous_version + 1, ch.changed_on
            )
        return outcome


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


def test_household_with_members_but_no_householder_breaks_the_invariant():
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
    with pytest.raises(HouseholderRequired):
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
