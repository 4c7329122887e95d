"""The 中間サーバー's rules, without a database: the unified number, the 照会許可照合リスト, the 副本's layout and its
records for a 世帯主 and a member, and the 情報提供等記録's chain."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from juki.intermediate.domain import permissions, unified
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.domain import replica as layout

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "provision_recipients.csv"


# --- the unified number --------------------------------------------------------------------------------------------


def test_a_unified_number_is_the_body_code_and_ten_digits():
    assert unified.make("132110", 42) == "132110000000042"
    assert unified.is_valid("132110000000042", "132110") and not unified.is_valid("132120000000042", "132110")
    assert not unified.is_valid("132110000000000") and not unified.is_valid("13211000000004")
    assert unified.masked("132110000000042") == "13211******0042"
    with pytest.raises(ValueError):
        unified.make("132110", 0)
    with pytest.raises(ValueError):
        unified.make("132110", 10**10)


# --- the list ------------------------------------------------------------------------------------------------------


def test_the_list_is_rows_1_to_58_of_the_assessment():
    seed = permissions.seed()
    assert [e.no for e in seed.entries] == list(range(1, 59))
    assert {e.information for e in seed.entries} == {"住民票関係情報"}
    assert all(e.items == ("世帯主該当", "世帯主氏名", "世帯主との続柄") for e in seed.entries)


def test_the_packaged_list_is_the_shared_one():
    if not SHARED.exists():
        pytest.skip("shared/data is not beside this checkout")
    packaged = resources.files("juki.policy").joinpath("data", permissions.SOURCE).read_text(encoding="utf-8")
    assert packaged == SHARED.read_text(encoding="utf-8")


def test_a_query_matches_exactly_one_row():
    seed = permissions.seed()
    ok = seed.decide("全国健康保険協会", "番号法第19条第8号別表第2の2の項", "住民票関係情報", ["世帯主氏名"])
    assert ok.allowed and ok.entry and ok.entry.no == 2 and ok.items == ("世帯主氏名",)
    every = seed.decide("全国健康保険協会", "番号法第19条第8号別表第2の2の項", "住民票関係情報", None)
    assert every.items == ("世帯主該当", "世帯主氏名", "世帯主との続柄")
    spaced = seed.decide("厚生労働大臣", "番号法第19条第8号別表第2の101の項", "住民票関係情報", None)
    assert spaced.allowed and spaced.entry and spaced.entry.no == 45  # the PIA writes 「第8号 別表」 there
    row9 = seed.decide("都道府県知事 市町村長", "番号法第19条第8号別表第2の16の項", "住民票関係情報", None)
    assert row9.allowed  # the requester is the cell whole


@pytest.mark.parametrize(
    ("requester", "basis", "information", "items"),
    [
        (
            "全国健康保険協会",
            "番号法第19条第8号別表第2の1の項",
            "住民票関係情報",
            None,
        ),  # row 1 is 厚生労働大臣's
        ("都道府県知事", "番号法第19条第8号別表第2の16の項", "住民票関係情報", None),  # part of the cell
        ("全国健康保険協会", "番号法第19条第8号別表第2の2の項", "地方税関係情報", None),
        ("全国健康保険協会", "番号法第19条第8号別表第2の2の項", "住民票関係情報", ["個人番号"]),
        (
            "全国健康保険協会",
            "番号法第19条第8号別表第2の2の項",
            "住民票関係情報",
            ["世帯主氏名", "世帯主氏名"],
        ),
        ("全国健康保険協会", "番号法第19条第8号別表第2の2の項", "住民票関係情報", []),
        (
            "小平市教育委員会 学務課",
            "小平市個人番号の利用並びに特定個人情報の利用及び提供に関する条例",
            "住民票関係情報",
            None,
        ),
    ],
)
def test_anything_else_is_not_allowed(requester, basis, information, items):
    assert not permissions.seed().decide(requester, basis, information, items).allowed


def test_a_change_of_the_law_is_a_change_of_the_data():
    rows = list(csv.DictReader(SHARED.read_text(encoding="utf-8").splitlines())) if SHARED.exists() else []
    if not rows:
        pytest.skip("shared/data is not beside this checkout")
    rows[1] = {**rows[1], "legal_basis": "主務省令第2条第2号"}
    amended = permissions.from_rows(rows)
    assert amended.decide("全国健康保険協会", "主務省令第2条第2号", "住民票関係情報", None).allowed
    assert not amended.decide(
        "全国健康保険協会", "番号法第19条第8号別表第2の2の項", "住民票関係情報", None
    ).allowed


# --- the replica's records and messages ----------------------------------------------------------------------------


def _shipped_layout() -> dict:
    return json.loads(
        resources.files("juki.intermediate").joinpath("data", layout.LAYOUT_FILE).read_text("utf-8")
    )


def test_the_shipped_layout_is_the_one_the_docs_describe():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "intermediate-server.md").read_text(
        encoding="utf-8"
    )
    assert f"`{layout.LAYOUT.version}`" in doc and f"| 特定個人情報名コード | `{layout.INFO_CODE}` |" in doc
    for item in layout.RESIDENT_INFO.items:
        assert f"| `{item.code}` | {item.name} |" in doc
    for code, meaning in layout.NULL_REASONS.items():
        assert f"| `{code}` | {meaning} " in doc
    assert layout.RESIDENT_INFO.item_names == (
        "世帯主該当",
        "世帯主氏名",
        "世帯主との続柄",
    )  # 住基法7条4号, no more


def test_another_layout_is_a_change_of_data_only():
    raw = json.loads(
        json.dumps(_shipped_layout()).replace("JR01", "A0101").replace('"01"', '"N1"').replace('"02"', '"N2"')
    )
    raw["version"] = "official-2"
    other = layout.load(raw)
    head = layout.Member("山田\u3000太郎", "世帯主", True)
    items = layout.resident_items(layout.Member("山田\u3000花子", "妻", False), None, other)
    assert [(i.code, i.null_reason) for i in items][:2] == [("A0101-001", None), ("A0101-002", "N2")]
    message = layout.ReplicaMessage("RM-1", (layout.register_segment("132110000000001", items, other),))
    assert layout.parse(message.to_json(), other) == message
    with pytest.raises(layout.LayoutError, match="特定個人情報名コード"):
        layout.parse(message.to_json())  # not a record of the shipped layout
    assert (
        layout.resident_items(layout.Member("山田\u3000花子", "妻", False), head, other)[1].value == head.name
    )


def test_a_layout_that_leaves_a_role_unplayed_or_names_an_unknown_reason_is_refused():
    raw = _shipped_layout()
    del raw["information"][0]["items"][2]["role"]
    with pytest.raises(ValueError, match="relationship"):
        layout.load(raw)
    raw = _shipped_layout()
    raw["information"][0]["items"][1]["null_reasons"] = ["09"]
    with pytest.raises(ValueError, match="JR01-002"):
        layout.load(raw)


def test_the_householders_record_says_only_that():
    items = layout.resident_items(layout.Member("山田\u3000太郎", "世帯主", True), None)
    assert [(i.code, i.value, i.null_reason) for i in items] == [
        ("JR01-001", "1", None), ("JR01-002", None, "01"), ("JR01-003", None, "01"),
    ]  # fmt: skip


def test_a_members_record_names_the_householder_and_the_relationship():
    head = layout.Member("山田\u3000太郎", "世帯主", True)
    items = layout.resident_items(layout.Member("山田\u3000花子", "妻", False), head)
    assert [(i.code, i.value) for i in items] == [
        ("JR01-001", "0"),
        ("JR01-002", "山田\u3000太郎"),
        ("JR01-003", "妻"),
    ]
    orphan = layout.resident_items(layout.Member("山田\u3000花子", "妻", False), None)
    assert (orphan[1].value, orphan[1].null_reason) == (None, "02")


def _message(**segment: object) -> dict:
    items = [{"code": "JR01-001", "value": "0", "null_reason": None},
             {"code": "JR01-002", "value": "山田\u3000太郎", "null_reason": None},
             {"code": "JR01-003", "value": "妻", "null_reason": None}]  # fmt: skip
    base = {"operation": "登録", "record_key": {"unified_addressee_number": "132110000000001", "info_code": "JR01"},
            "items": items}  # fmt: skip
    return {"message_id": "RM-1", "segments": [{**base, **segment}]}


def test_a_well_formed_message_parses_and_round_trips():
    message = layout.parse(_message())
    assert message.segments[0].key == ("132110000000001", "JR01")
    assert layout.parse(message.to_json()) == message
    deletion = layout.parse(_message(operation="削除", items=None))
    assert deletion.segments[0].items == ()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"operation": "更新"}, "処理区分"),
        ({"record_key": {"unified_addressee_number": "1234", "info_code": "JR01"}}, "15桁"),
        (
            {"record_key": {"unified_addressee_number": "132110000000001", "info_code": "XX99"}},
            "特定個人情報名コード",
        ),
        ({"items": [{"code": "JR01-001", "value": "0", "null_reason": None}]}, "足りません"),
        ({"items": [{"code": "JR01-009", "value": "0", "null_reason": None}]}, "項目コード"),
        ({"items": [{"code": "JR01-001", "value": "2", "null_reason": None}]}, "取りうる値"),
        ({"items": [{"code": "JR01-001", "value": None, "null_reason": "01"}]}, "未設定事由"),
        ({"items": [{"code": "JR01-003", "value": "妻", "null_reason": "01"}]}, "未設定事由"),
        ({"items": [{"code": "JR01-002", "value": "123456789012", "null_reason": None}]}, "12桁"),
        ({"items": [{"code": "JR01-002", "value": "名" * 101, "null_reason": None}]}, "100文字"),
        ({"operation": "削除"}, "削除のセグメント"),
    ],
)
def test_a_malformed_message_is_refused_with_its_reason(change, says):
    raw = _message(**change)
    with pytest.raises(layout.LayoutError, match=says) as refused:
        layout.parse(raw)
    assert "123456789012" not in refused.value.reason


def test_a_message_without_segments_or_id_or_with_a_key_twice_is_refused():
    raw: object
    for raw in (
        {"segments": []},
        {"message_id": "RM-1", "segments": []},
        [],
        {"message_id": "", "segments": [1]},
    ):
        with pytest.raises(layout.LayoutError):
            layout.parse(raw)
    twice = _message()
    twice["segments"] = twice["segments"] * 2
    with pytest.raises(layout.LayoutError, match="重複"):
        layout.parse(twice)


def test_each_item_keeps_its_own_version():
    head = layout.Member("山田\u3000太郎", "世帯主", True)
    first = layout.versioned(layout.resident_items(layout.Member("山田\u3000花子", "妻", False), head), None)
    renamed = layout.resident_items(
        layout.Member("山田\u3000花子", "妻", False), replace(head, name="山田\u3000太朗")
    )
    second = layout.versioned(renamed, first)
    assert {c: v["version"] for c, v in second.items()} == {"JR01-001": 1, "JR01-002": 2, "JR01-003": 1}
    assert layout.unchanged(renamed, second) and not layout.unchanged(renamed, first)
    assert layout.answer_data(second, ["世帯主との続柄"]) == {"世帯主との続柄": "妻"}


# --- the chain -----------------------------------------------------------------------------------------------------


def _chain(n: int) -> list[plog.Stored]:
    rows, prev = [], plog.GENESIS
    for seq in range(1, n + 1):
        fields = plog.Fields(seq, datetime(2025, 6, 30, 1, seq, tzinfo=UTC), plog.ANSWERED, f"Q-{seq}", "全国健康保険協会",
                             "番号法第19条第8号別表第2の2の項", "事務", "住民票関係情報", "CODE", "132110000000001",
                             ("世帯主氏名",), "answered", "提供しました", "", date(2032, 6, 30))  # fmt: skip
        digest = plog.chain_hash(prev, fields)
        rows.append(plog.Stored(fields, prev, digest))
        prev = digest
    return rows


def test_the_chain_verifies_and_names_the_first_broken_entry():
    rows = _chain(4)
    assert plog.verify(rows, 4) == plog.Verification(4, None)
    edited = [*rows[:2], replace(rows[2], fields=replace(rows[2].fields, requester="別の機関")), rows[3]]
    assert plog.verify(edited, 4) == plog.Verification(2, 3)
    assert plog.verify([rows[0], rows[2], rows[3]], 4) == plog.Verification(1, 3)  # one deleted
    assert plog.verify(rows[:3], 4) == plog.Verification(3, 4)  # cut off the end


def test_entries_are_kept_seven_years():
    assert plog.retain_until(date(2025, 6, 30)) == date(2032, 6, 30)
    assert plog.retain_until(date(2028, 2, 29)) == date(2035, 2, 28)
