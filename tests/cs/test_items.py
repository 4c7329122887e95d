"""The 本人確認情報's 36 items and how a register event becomes them (pure: no database)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

import juki.policy
from juki.cs.domain.items import (
    DEAD,
    ITEMS,
    PRESENT,
    REMOVED,
    Change,
    build,
    for_kind,
    gaiji_count,
    stamp,
)

CSV = Path(juki.policy.__file__).parent / "data" / "identity_info_items.csv"  # the assessment's 別添1(2)
NUMBER = "123456789018"


def record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "ヤマダ",
        "given_name_kana": "タロウ",
        "sex": "male",
        "birth_date": "1980-04-01",
        "relationship": "世帯主",
        "address": {
            "address": "東京都小平市小川町一丁目100番地5",
            "katagaki": "コーポ小川201",
            "postal_code": "1870032",
            "municipality_code": "132110",
        },
        "previous_address": {
            "address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
            "municipality_code": "132039",
        },
        "resident_since": "2025-06-01",
        "address_since": "2025-06-01",
        "resident_code": "30166131860",
    }
    return base | over


def change(reason: str = "転入", **over: Any) -> Change:
    values: dict[str, Any] = {
        "change_reason": reason,
        "changed_on": "2025-06-01",
        "filed_on": "2025-06-02",
        "filing_id": "F20250630-0000001",
        "staff_id": "clerk1",
        "terminal": "counter-3",
        "removed": False,
    }
    return Change(**(values | over))


def test_the_36_items_are_those_of_the_csv_in_its_order():
    with CSV.open(encoding="utf-8") as fh:
        names = [row["item"] for row in csv.DictReader(fh)]
    assert tuple(names) == ITEMS and len(ITEMS) == 36


def test_a_move_in_becomes_the_items_as_the_standard_writes_them():
    items = build(record(), change(), NUMBER, "132110", None)
    assert set(items) == set(ITEMS)
    assert items["漢字氏名"] == "山田\u3000太郎"
    assert items["ふりがな氏名"] == "ヤマダ\u3000タロウ"  # katakana, as the register holds it
    assert items["清音化かな氏名"] == "ヤマタ\u3000タロオ"  # names.seion_kana of each part
    assert (items["生年月日"], items["性別"]) == ("1980-04-01", "男")
    assert items["住所"] == "東京都小平市小川町一丁目100番地5"  # without the 方書
    assert (items["郵便番号"], items["市町村コード"]) == ("1870032", "132110")
    assert items["個人番号"] == NUMBER
    assert (items["市町村コード(転入前)"], items["転入前住所"]) == (
        "132039",
        "東京都武蔵野市吉祥寺本町一丁目1番1号",
    )
    assert (items["住民となった日"], items["住所を定めた日"], items["届出の年月日"]) == (
        "2025-06-01", "2025-06-01", "2025-06-02",
    )  # fmt: skip
    assert (items["異動年月日"], items["依頼管理番号"]) == ("2025-06-01", "F20250630-0000001")
    assert (items["操作者ID"], items["操作端末ID"]) == ("clerk1", "counter-3")
    assert items["住民票コード使用年月日"] == "2025-06-01" and items["旧住民票コード"] is None
    assert items["外字数(氏名)"] == items["外字数(住所)"] == items["外字数(転入前住所)"] == "0"
    flags = ("更新禁止フラグ", "予定者フラグ", "排他フラグ", "外字フラグ", "レコード状況フラグ")
    assert [items[f] for f in flags] == ["0", "0", "0", "0", PRESENT]
    assert all(v is None or isinstance(v, str) for v in items.values())


def test_the_kind_sets_the_change_reason_word_and_the_registers_own_reason_goes_to_the_detail():
    items = build(record(), change("国外転入"), None, "132110", None)
    assert for_kind(items, "転入", "国外転入")["異動事由"] == "転入"
    assert for_kind(items, "転入", "国外転入")["異動事由詳細"] == "国外転入"
    assert for_kind(items, "転入", "転入")["異動事由詳細"] is None


def test_a_female_person_and_a_person_without_a_my_number():
    items = build(record(sex="female"), change(), None, "132110", None)
    assert items["性別"] == "女" and items["個人番号"] is None


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("山田太郎", 0),
        ("東京都小平市小川町一丁目100番地5", 0),
        ("ABC abc 123", 0),
        ("髙橋", 1),  # はしご高: not in JIS X 0208
        ("𠮷野", 1),  # つちよし: outside the BMP and JIS X 0208
        ("﨑山", 1),  # たつさき (IBM extension)
        ("渡邉", 0),  # 邉 is in JIS X 0208
        ("", 0),
    ],
)
def test_gaiji_counts_characters_outside_jis_x_0208(text: str, count: int):
    assert gaiji_count(text) == count


def test_a_name_with_a_gaiji_is_counted_and_flagged():
    items = build(record(family_name="髙橋"), change(), None, "132110", None)
    assert items["外字数(氏名)"] == "1" and items["外字フラグ"] == "1"


def test_a_move_out_filed_before_the_day_is_a_planned_one_and_the_record_is_removed():
    items = build(record(), change("転出", changed_on="2025-07-01", removed=True), None, "132110", None)
    assert items["予定者フラグ"] == "1" and items["レコード状況フラグ"] == REMOVED


def test_a_death_marks_the_record_dead():
    items = build(record(), change("死亡", removed=True), None, "132110", None)
    assert items["レコード状況フラグ"] == DEAD


def test_a_changed_resident_code_keeps_the_old_one_and_its_first_use():
    first = build(record(), change(), None, "132110", None)
    second = build(record(resident_code="12345678903"), change("職権修正", changed_on="2025-08-01"), None, "132110",
                   first)  # fmt: skip
    assert second["旧住民票コード"] == "30166131860"
    assert second["住民票コード使用年月日"] == "2025-08-01"
    third = build(record(resident_code="12345678903"), change("転居", changed_on="2025-09-01"), None, "132110",
                  second)  # fmt: skip
    assert third["旧住民票コード"] == "30166131860" and third["住民票コード使用年月日"] == "2025-08-01"


def test_stamping_numbers_the_version():
    items = stamp(build(record(), change(), None, "132110", None), 3, "2025-06-02T00:00:00+00:00")
    assert items["更新順番号"] == "3" and items["タイムスタンプ"] == "2025-06-02T00:00:00+00:00"


def test_the_address_before_the_move_in_stays_through_a_move_within():
    first = build(record(), change(), None, "132110", None)
    moved = record(
        previous_address={"address": "東京都小平市小川町一丁目100番地5", "municipality_code": "132110"}
    )
    second = build(moved, change("転居"), None, "132110", first)
    assert (second["市町村コード(転入前)"], second["転入前住所"]) == (
        "132039",
        "東京都武蔵野市吉祥寺本町一丁目1番1号",
    )


def test_an_event_without_removed_schema_1_takes_it_from_the_records_status():
    body = {
        "change_reason": "死亡",
        "changed_on": "2025-06-01",
        "filing_id": "F1",
        "record": {"status": "removed"},
    }
    recorded = Change.from_body(body)
    assert recorded.removed and recorded.filed_on == "2025-06-01" and recorded.staff_id == ""
