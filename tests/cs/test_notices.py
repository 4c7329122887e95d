"""Which notices a change becomes and the checks before sending (seed III(2)-5 リスク2; pure)."""

from __future__ import annotations

import pytest

from juki.cs.domain.items import DEAD, PRESENT, REMOVED, build, stamp
from juki.cs.domain.notices import (
    FORMAT_ERROR,
    KIND_OF,
    LOGIC_ERROR,
    MISSING_RESIDENT_CODE,
    Failure,
    Part,
    plan,
)
from juki.cs.wire import NoticeKind
from juki.domain.events import EVENT_NAMES
from tests.cs.test_items import change, record

K = NoticeKind


def items(reason: str = "転入", previous=None, **over):  # type: ignore[no-untyped-def]
    removed = reason in ("転出", "死亡", "職権消除")
    return build(record(**over), change(reason, removed=removed), "123456789018", "132110", previous)


def held(status: str = PRESENT, **over):  # type: ignore[no-untyped-def]
    """What the CS holds after a 転入 (numbered 1), with the status given."""
    return stamp(items(**over), 1, "t") | {"レコード状況フラグ": status}


def test_every_change_reason_of_the_register_has_a_notice_kind():
    assert set(KIND_OF) == set(EVENT_NAMES)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("転入", K.MOVE_IN), ("国外転入", K.MOVE_IN), ("転居", K.MOVE_WITHIN), ("転出", K.MOVE_OUT),
        ("国外転出", K.MOVE_OUT), ("出生", K.BIRTH), ("死亡", K.DEATH), ("世帯分離", K.HOUSEHOLD_CHANGE),
        ("職権記載", K.EX_OFFICIO_ENTRY), ("職権修正", K.EX_OFFICIO_CORRECTION), ("性別変更", K.EX_OFFICIO_CORRECTION),
        ("職権消除", K.EX_OFFICIO_REMOVAL), ("取消（減）", K.CANCELLATION), ("記載順位の変更", K.MINOR_CORRECTION),
    ],
)  # fmt: skip
def test_the_change_reasons_map_to_the_notice_kinds(reason: str, kind: NoticeKind):
    assert KIND_OF[reason] is kind


def test_a_move_in_of_a_person_new_to_the_file_is_one_notice():
    parts = plan("国外転入", items("国外転入"), None, False)
    assert parts == [Part(K.MOVE_IN, parts[0].items)] and parts[0].items["異動事由"] == "転入"  # type: ignore[index]
    assert parts[0].items["異動事由詳細"] == "国外転入"  # type: ignore[index]


def test_a_move_in_of_a_person_the_cs_holds_as_present_is_a_logic_error():
    failure = plan("転入", items(), held(), False)
    assert isinstance(failure, Failure) and failure.code == LOGIC_ERROR and failure.item == "異動事由"


def test_a_move_in_of_a_person_who_moved_out_before_is_accepted():
    assert isinstance(plan("転入", items(), held(REMOVED), False), list)


def test_a_person_without_a_resident_code_cannot_be_notified():
    failure = plan("転入", items(resident_code=None), None, False)
    assert failure == Failure(MISSING_RESIDENT_CODE, "住民票コード", failure.message)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("over", "item"),
    [
        ({"resident_code": "123"}, "住民票コード"),
        ({"resident_code": "12345678900"}, "住民票コード"),  # its check digit is 3
        ({"birth_date": "1980/04/01"}, "生年月日"),
        ({"sex": "other"}, "性別"),
        ({"family_name": "", "given_name": ""}, "漢字氏名"),
        ({"address": {"address": ""}}, "住所"),
    ],
)
def test_format_errors_name_the_item(over, item):  # type: ignore[no-untyped-def]
    failure = plan("転入", items(**over), None, False)
    assert isinstance(failure, Failure) and (failure.code, failure.item) == (FORMAT_ERROR, item)


def test_a_change_of_a_person_the_cs_does_not_hold_is_a_logic_error():
    for reason in ("転居", "転出", "死亡", "職権修正"):
        failure = plan(reason, items(reason), None, False)
        assert isinstance(failure, Failure) and failure.code == LOGIC_ERROR


def test_a_move_out_of_a_dead_person_is_a_logic_error():
    assert isinstance(plan("転出", items("転出"), held(DEAD), False), Failure)


def test_a_move_within_that_changes_only_the_address_is_one_notice():
    new = items("転居", address={"address": "東京都小平市学園東町一丁目1番1号", "postal_code": "1870043"})
    parts = plan("転居", new, held(), False)
    assert [p.kind for p in parts] == [K.MOVE_WITHIN]  # type: ignore[union-attr]


def test_a_move_within_that_changes_the_name_is_a_logic_error():
    new = items("転居", family_name="佐藤", address={"address": "東京都小平市学園東町一丁目1番1号"})
    failure = plan("転居", new, held(), False)
    assert isinstance(failure, Failure) and (failure.code, failure.item) == (LOGIC_ERROR, "漢字氏名")
    assert "佐藤" not in failure.message  # never an item's value


def test_a_move_within_into_another_household_that_changes_the_relationship_is_split_in_two():
    new = items("転居", relationship="妻", address={"address": "東京都小平市学園東町一丁目1番1号"})
    parts = plan("転居", new, held(), True)
    assert isinstance(parts, list) and [p.kind for p in parts] == [K.MOVE_WITHIN, K.HOUSEHOLD_CHANGE]
    assert parts[0].items["続柄"] == "世帯主" and parts[0].items["住所"] == "東京都小平市学園東町一丁目1番1号"
    assert parts[1].items["続柄"] == "妻" and parts[1].items["異動事由"] == "世帯変更"


def test_a_relationship_change_in_the_same_household_is_not_a_move_within():
    new = items("転居", relationship="妻", address={"address": "東京都小平市学園東町一丁目1番1号"})
    failure = plan("転居", new, held(), False)
    assert isinstance(failure, Failure) and failure.item == "続柄"


def test_a_household_change_that_leaves_the_persons_items_as_they_were_is_no_notice():
    assert plan("世帯合併", items("世帯合併"), held(), True) == []
    assert plan("記載順位の変更", items("記載順位の変更"), held(), False) == []


def test_a_household_change_of_the_relationship_is_a_notice():
    parts = plan("世帯主変更", items("世帯主変更", relationship="妻"), held(), False)
    assert [p.kind for p in parts] == [K.HOUSEHOLD_CHANGE]  # type: ignore[union-attr]


def test_an_unknown_change_reason_is_a_format_error():
    failure = plan("転籍", items(), None, False)
    assert isinstance(failure, Failure) and failure.code == FORMAT_ERROR


def test_a_move_within_that_brings_the_my_number_the_cs_lacked_is_still_a_move_within():
    lacking = held() | {"個人番号": None}
    new = items("転居", address={"address": "東京都小平市学園東町一丁目1番1号"})
    assert [p.kind for p in plan("転居", new, lacking, False)] == [K.MOVE_WITHIN]  # type: ignore[union-attr]


def test_a_my_number_with_a_wrong_check_digit_is_a_format_error():
    wrong = items() | {"個人番号": "123456789010"}  # its check digit is 8
    failure = plan("転入", wrong, None, False)
    assert isinstance(failure, Failure) and (failure.code, failure.item) == (FORMAT_ERROR, "個人番号")
    assert "123456789010" not in failure.message
