"""標準仕様書 j1010 (世帯員の並び順): the standard order of each rank and its tie-breaks, on realistic households,
and the reorder command (standard or by hand) on an in-memory register."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

import pytest

from juki.domain import commands as c
from juki.domain import register
from juki.domain.errors import Conflict, InvalidDate, InvalidField, NotFound
from juki.domain.identifiers import make_addressee_number, make_household_number
from juki.domain.member_order import generation, rank, split_descent, standard_order
from juki.domain.model import Address, ResidentRecord
from tests.fakes import FakeRegister

HOME = Address("東京都小平市小川町一丁目100番地5", postal_code="1870032")
HOUSEHOLD = make_household_number(1)
_seq = iter(range(1, 10_000))


def member(
    relationship: str,
    given: str,
    born: str,
    family: str = "山田",
    head: str | None = None,
    number: int | None = None,
    position: int = 1,
) -> ResidentRecord:
    return ResidentRecord(
        addressee_number=make_addressee_number(number if number is not None else next(_seq)),
        household_number=HOUSEHOLD,
        relationship=relationship,
        position=position,
        family_name=family,
        given_name=given,
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        sex="male",
        birth_date=date.fromisoformat(born),
        address=HOME,
        resident_since=date(2020, 4, 1),
        address_since=date(2020, 4, 1),
        filed_on=date(2020, 4, 1),
        family_register_head=head,
    )


def names(records: list[ResidentRecord]) -> list[str]:
    return [r.given_name for r in records]


def shuffled(records: list[ResidentRecord], seed: int = 1) -> list[ResidentRecord]:
    copy = list(records)
    random.Random(seed).shuffle(copy)
    return copy


def assert_standard(expected: list[ResidentRecord]) -> None:
    """The standard order of `expected`, from any order it arrives in, is `expected`."""
    for seed in range(5):
        assert names(standard_order(shuffled(expected, seed))) == names(expected)


# --- reading a 続柄 ---------------------------------------------------------------------------------------------


def test_a_chain_splits_into_its_base_and_a_tail_of_descent():
    assert split_descent("子の子") == ("", 2, False)
    assert split_descent("子の妻") == ("", 1, True)
    assert split_descent("兄の子の妻") == ("兄", 1, True)
    assert split_descent("妻の父") == ("妻の父", 0, False)
    assert split_descent("妻の子") == ("妻", 1, False)
    assert split_descent("子の妻の子") == ("子の妻", 1, False)
    assert split_descent("同居人") is None


def test_generations_count_up_for_parents_and_down_for_children():
    assert [generation(r) for r in ("父の父", "妻の母", "兄", "妻", "妻の子", "子の子")] == [
        2,
        1,
        0,
        0,
        -1,
        -2,
    ]


def test_each_relationship_falls_in_its_rank():
    ranks = {
        "世帯主": 1, "妻": 1, "夫（未届）": 1, "子": 1,
        "子の妻": 2, "子の夫": 2, "子の子": 2, "子の子の妻": 2, "子の子の子": 2,
        "父": 3, "母": 3, "兄": 3, "妹": 3, "父の父": 3, "母の母": 3,
        "妻の父": 4, "兄の妻": 4, "妻の子": 4, "父の兄": 4, "縁故者": 4, "同居人": 4,
        "孫": 5,
    }  # fmt: skip
    assert {r: rank(r) for r in ranks} == ranks


# --- rank 1: 世帯主 → 配偶者 → 子 -------------------------------------------------------------------------------


def test_rank_one_is_the_householder_the_spouse_then_the_children_by_birth_date():
    expected = [
        member("世帯主", "太郎", "1980-04-01"),
        member("妻", "花子", "1982-07-07"),
        member("子", "一郎", "2008-05-05"),
        member("子", "桜", "2010-03-03"),
        member("子", "健", "2015-11-20"),
    ]
    assert_standard(expected)


def test_the_spouse_comes_before_an_older_child_and_an_unmarried_partner_is_a_spouse():
    expected = [
        member("世帯主", "由美", "1990-01-01"),
        member("夫（未届）", "健二", "1988-02-02"),
        member("子", "陽", "1985-06-06"),  # older than the spouse, still after
    ]
    assert_standard(expected)


def test_twins_born_the_same_day_follow_their_addressee_numbers():
    head = member("世帯主", "太郎", "1980-04-01", number=500)
    younger_number = member("子", "彩", "2012-08-08", number=31)
    older_number = member("子", "葵", "2012-08-08", number=900)
    assert names(standard_order([older_number, head, younger_number])) == ["太郎", "彩", "葵"]


# --- rank 2: the children's families -----------------------------------------------------------------------------


def test_two_married_sons_families_follow_all_the_children_each_family_in_the_sons_order():
    """山田太郎's household: two married sons with their own 戸籍 (筆頭者 the son), an unmarried daughter."""
    expected = [
        member("世帯主", "太郎", "1950-01-10", head="山田 太郎"),
        member("妻", "花子", "1952-02-20", head="山田　太郎"),
        member("子", "一郎", "1975-03-03", head="山田 一郎"),
        member("子", "次郎", "1978-04-04", head="山田　次郎"),
        member("子", "桜", "1985-05-05", head="山田 太郎"),
        # 一郎's family: his wife, then their children by birth date
        member("子の妻", "由美", "1979-09-09", head="山田一郎"),
        member("子の子", "翔", "2005-06-06", head="山田 一郎"),
        member("子の子", "萌", "2008-07-07", head="山田 一郎"),
        # 次郎's family (his wife is older than 一郎's, and his child older than 一郎's second: families still
        # follow the sons' order)
        member("子の妻", "美咲", "1976-10-10", head="山田 次郎"),
        member("子の子", "蓮", "2006-01-01", head="山田 次郎"),
    ]
    assert_standard(expected)


def test_a_daughters_family_is_found_by_her_husbands_register_when_he_is_its_head():
    expected = [
        member("世帯主", "太郎", "1950-01-10", head="山田 太郎"),
        member("子", "一郎", "1975-03-03", head="山田 一郎"),
        member("子", "直子", "1977-08-08", family="鈴木", head="鈴木 健"),
        member("子の妻", "由美", "1979-09-09", head="山田 一郎"),
        member("子の子", "翔", "2005-06-06", head="山田 一郎"),
        member("子の夫", "健", "1974-12-12", family="鈴木", head="鈴木 健"),
        member("子の子", "葉月", "2004-08-01", family="鈴木", head="鈴木 健"),
    ]
    assert_standard(expected)


def test_grandchildren_and_their_spouses_and_children_follow_generation_by_generation():
    expected = [
        member("世帯主", "トメ", "1930-01-01"),
        member("子", "一郎", "1955-03-03"),
        member("子の妻", "由美", "1957-09-09"),
        member("子の子", "翔", "1980-06-06"),
        member("子の子", "萌", "1983-07-07"),
        member("子の子の妻", "愛", "1981-02-02"),
        member("子の子の子", "湊", "2010-10-10"),
    ]
    assert_standard(expected)


def test_members_of_rank_two_that_belong_to_no_known_family_follow_the_families_by_generation():
    expected = [
        member("世帯主", "太郎", "1950-01-10", head="山田 太郎"),
        member("子", "一郎", "1975-03-03", head="山田 一郎"),
        member("子", "次郎", "1978-04-04", head="山田 次郎"),
        member("子の妻", "美咲", "1976-10-10", head="山田 次郎"),  # 次郎's family, known by its 筆頭者
        # no 筆頭者 recorded: whose they are is not known
        member("子の妻", "由美", "1979-09-09"),
        member("子の子", "翔", "2001-06-06"),
        member("子の子", "萌", "2008-07-07"),
    ]
    assert_standard(expected)


def test_two_children_in_one_other_register_make_no_family_of_it():
    """Two children whose 筆頭者 is the same person other than their parents (say their mother's new register):
    whose family a 子の子 of that register is, is not known, so it follows the known families."""
    head = member("世帯主", "太郎", "1950-01-10", head="山田 太郎")
    first = member("子", "一郎", "1975-03-03", head="佐藤 和子")
    second = member("子", "次郎", "1978-04-04", head="佐藤 和子")
    third = member("子", "三郎", "1980-05-05", head="山田 三郎")
    thirds_wife = member("子の妻", "美咲", "1982-10-10", head="山田 三郎")
    older = member("子の子", "翔", "1999-06-06", head="佐藤 和子")
    wife = member("子の妻", "由美", "1979-09-09", head="佐藤 和子")
    ordered = standard_order([older, wife, thirds_wife, third, second, first, head])
    assert names(ordered) == ["太郎", "一郎", "次郎", "三郎", "美咲", "由美", "翔"]


# --- rank 3: 父母 → 兄弟姉妹 → 祖父母 ------------------------------------------------------------------------------


def test_the_parent_who_heads_their_register_comes_first_even_when_younger():
    expected = [
        member("世帯主", "一郎", "1975-03-03"),
        member("母", "和子", "1950-05-05", family="佐藤", head="佐藤 和子"),  # heads her own register
        member("父", "茂", "1948-02-02", family="佐藤", head="佐藤 和子"),
    ]
    assert_standard(expected)


def test_without_a_register_head_parents_go_by_birth_date_then_siblings_then_grandparents():
    expected = [
        member("世帯主", "一郎", "1985-03-03"),
        member("父", "茂", "1955-02-02"),
        member("母", "和子", "1957-05-05"),
        member("兄", "誠", "1980-01-01"),
        member("妹", "恵", "1990-09-09"),
        member("弟", "学", "1992-12-12"),
        member("母の母", "ハル", "1925-04-04"),  # older than everyone, yet after the siblings
        member("父の父", "源", "1927-06-06"),
    ]
    assert_standard(expected)


# --- rank 4: other relatives → 縁故者 → 同居人 ----------------------------------------------------------------------


def test_other_relatives_come_by_family_and_generation_then_related_persons_then_lodgers():
    expected = [
        member("世帯主", "一郎", "1975-03-03"),
        member("妻", "由美", "1977-09-09"),
        member("子", "翔", "2005-06-06"),
        member("父", "茂", "1948-02-02"),
        member("兄", "誠", "1972-01-01"),
        # the wife's parents (one generation up) before anyone of the householder's own generation
        member("妻の父", "勇", "1946-08-08", family="佐藤"),
        member("妻の母", "光子", "1949-03-21", family="佐藤"),
        # 兄's family (its base born 1972) before the wife's sister's (born 1980)
        member("兄の妻", "静", "1974-07-07"),
        member("兄の子", "大地", "2000-02-02"),
        member("兄の子", "海", "2003-03-03"),
        member("妻の妹", "真理", "1980-10-10", family="佐藤"),
        member("妻の妹の夫", "拓", "1978-11-11", family="田中"),
        member("妻の妹の子", "結", "2010-01-01", family="田中"),
        # 縁故者 and 同居人 come last, each by birth date, whatever their age
        member("縁故者", "清", "1940-04-04", family="木村"),
        member("縁故者", "文", "1960-06-06", family="木村"),
        member("同居人", "蒼", "1930-01-01", family="高橋"),
        member("同居人", "凛", "1999-09-09", family="伊藤"),
    ]
    assert_standard(expected)


def test_a_stepchild_is_an_other_relative_in_the_spouses_family():
    expected = [
        member("世帯主", "一郎", "1975-03-03"),
        member("妻", "由美", "1977-09-09"),
        member("子", "翔", "2012-06-06"),
        member("妻の子", "茜", "2002-02-02"),
        member("同居人", "蒼", "1930-01-01", family="高橋"),
    ]
    assert_standard(expected)


def test_a_relationship_outside_the_standard_comes_last_and_nothing_is_lost():
    head = member("世帯主", "一郎", "1975-03-03")
    odd = member("孫", "翔", "2012-06-06")
    lodger = member("同居人", "蒼", "2001-01-01", family="高橋")
    ordered = standard_order([odd, lodger, head])
    assert names(ordered) == ["一郎", "蒼", "翔"]


def test_the_standard_order_of_a_whole_household_is_stable():
    everyone = [
        member("世帯主", "太郎", "1950-01-10", head="山田 太郎"),
        member("妻", "花子", "1952-02-20", head="山田 太郎"),
        member("子", "一郎", "1975-03-03", head="山田 一郎"),
        member("子の妻", "由美", "1979-09-09", head="山田 一郎"),
        member("子の子", "翔", "2005-06-06", head="山田 一郎"),
        member("母", "キヨ", "1925-05-05", head="山田 源"),
        member("妹", "幸子", "1955-05-05"),
        member("同居人", "蒼", "2001-01-01", family="高橋"),
    ]
    once = standard_order(shuffled(everyone))
    assert names(once) == ["太郎", "花子", "一郎", "由美", "翔", "キヨ", "幸子", "蒼"]
    assert standard_order(once) == once


# --- the reorder command on an in-memory register --------------------------------------------------------------


def one_household(records: list[ResidentRecord], version: int = 3) -> FakeRegister:
    """The shared in-memory register holding one household (at `version`), each member at version 2."""
    return FakeRegister.holding(
        records, version=2, household_version=version, last_changed_on=date(2024, 4, 1)
    )


def _household(*positions: int) -> list[ResidentRecord]:
    """世帯主, 妻, 子 (2010), 子 (2008) — the two children in the wrong order — at the given positions."""
    people = [
        member("世帯主", "太郎", "1980-04-01"),
        member("妻", "花子", "1982-07-07"),
        member("子", "桜", "2010-03-03"),
        member("子", "一郎", "2008-05-05"),
    ]
    return [dataclasses.replace(p, position=pos) for p, pos in zip(people, positions, strict=True)]


def _reorder(reader: FakeRegister, order: tuple[str, ...] | None = None, **over: object) -> register.Outcome:
    cmd = c.ReorderMembers(filed_on=reader.today, household_number=HOUSEHOLD, order=order, **over)
    return register.reorder_members(reader, cmd)


def test_the_standard_reorder_changes_only_the_members_whose_place_changes():
    people = _household(1, 2, 3, 4)
    outcome = _reorder(one_household(people))
    assert [(ch.record.given_name, ch.record.position) for ch in outcome.changes] == [("一郎", 3), ("桜", 4)]
    for ch in outcome.changes:
        old = next(p for p in people if p.addressee_number == ch.record.addressee_number)
        assert dataclasses.replace(ch.record, position=old.position) == old  # nothing else changes
        assert ch.change_reason == c.MEMBER_ORDER == "記載順位の変更"
        assert ch.previous_version == 2
        assert ch.changed_on == date(2024, 4, 1)  # the member's last legal date, not today
        assert ch.filed_on == date(2025, 6, 30)
    assert names(outcome.households[HOUSEHOLD].members) == ["太郎", "花子", "一郎", "桜"]


def test_the_members_keep_the_numbers_they_hold_between_them():
    outcome = _reorder(one_household(_household(1, 3, 7, 9)))
    assert [(m.given_name, m.position) for m in outcome.households[HOUSEHOLD].members] == [
        ("太郎", 1),
        ("花子", 3),
        ("一郎", 7),
        ("桜", 9),
    ]
    assert len(outcome.changes) == 2


def test_two_members_on_one_number_are_numbered_afresh():
    outcome = _reorder(one_household(_household(1, 2, 3, 3)))
    assert [(m.given_name, m.position) for m in outcome.households[HOUSEHOLD].members] == [
        ("太郎", 1),
        ("花子", 2),
        ("一郎", 3),
        ("桜", 4),
    ]


def test_a_household_already_in_order_changes_nothing():
    people = _household(1, 2, 4, 3)  # 一郎 (2008) already before 桜 (2010)
    assert _reorder(one_household(people)).changes == []


def test_a_manual_order_puts_the_members_where_the_clerk_says():
    people = _household(1, 2, 3, 4)
    wanted = (people[0].addressee_number, people[2].addressee_number, people[1].addressee_number,
              people[3].addressee_number)  # fmt: skip
    outcome = _reorder(one_household(people), wanted)
    assert names(outcome.households[HOUSEHOLD].members) == ["太郎", "桜", "花子", "一郎"]
    assert {ch.record.given_name for ch in outcome.changes} == {"桜", "花子"}


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (lambda p: (p[0], p[1], p[2]), "addressee_numbers"),  # one member left out
        (lambda p: (p[0], p[1], p[2], p[3], p[3]), "addressee_numbers.4"),  # one twice
        (lambda p: (p[0], p[1], p[2], make_addressee_number(9999)), "addressee_numbers.3"),  # a stranger
        (lambda p: (p[1], p[0], p[2], p[3]), "addressee_numbers.0"),  # the householder not first
    ],
    ids=["missing", "twice", "stranger", "householder_not_first"],
)
def test_a_manual_order_must_name_every_current_member_once_householder_first(order, field):
    people = _household(1, 2, 3, 4)
    numbers = [p.addressee_number for p in people]
    with pytest.raises(InvalidField) as refused:
        _reorder(one_household(people), order(numbers))
    assert refused.value.field == field


def test_a_removed_member_is_not_part_of_the_order():
    people = _household(1, 2, 3, 4)
    gone = dataclasses.replace(member("子", "亡", "2000-01-01", position=5), status="removed")
    reader = one_household([*people, gone])
    with pytest.raises(InvalidField):
        _reorder(reader, (*[p.addressee_number for p in people], gone.addressee_number))
    outcome = _reorder(reader)
    assert gone.addressee_number not in {ch.record.addressee_number for ch in outcome.changes}


def test_a_reorder_against_a_household_changed_since_it_was_read_is_a_conflict():
    reader = one_household(_household(1, 2, 3, 4), version=5)
    with pytest.raises(Conflict):
        _reorder(reader, expected_version=4)
    assert len(_reorder(reader, expected_version=5).changes) == 2


def test_an_unknown_household_is_not_found_and_a_future_filing_date_is_refused():
    reader = one_household(_household(1, 2, 3, 4))
    with pytest.raises(NotFound):
        register.reorder_members(
            reader, c.ReorderMembers(filed_on=reader.today, household_number=make_household_number(2))
        )
    with pytest.raises(InvalidDate):
        register.reorder_members(
            reader, c.ReorderMembers(filed_on=date(2025, 7, 1), household_number=HOUSEHOLD)
        )
