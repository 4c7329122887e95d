"""The simulated prefecture server's answers to notices (juki.cs.wire) and to queries (shared/spec/API.md,
住基ネット), over real mutual TLS, through the CS's client: in order accepted, a repeat acknowledged and not applied
twice, out of order / reused / unknown person / malformed refused with their codes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.wire import Accepted, NoticeKind, Refused
from juki.sim.juki_net import Running, start_in_thread
from tests.cs.juki_net_support import NAME, cs_client, mutual_tls, my_number, notice, resident_code

MOVE_IN, MOVE_WITHIN, DEATH = NoticeKind.MOVE_IN, NoticeKind.MOVE_WITHIN, NoticeKind.DEATH


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Running]:
    running = start_in_thread(tmp_path / "juki-net")
    yield running
    running.stop()


@pytest.fixture
def cs(tmp_path: Path, sim: Running) -> Iterator[HttpsPrefectureClient]:
    with cs_client(sim.url, tmp_path / "juki-net") as client:
        yield client


@pytest.fixture
def raw(tmp_path: Path, sim: Running) -> Iterator[httpx.Client]:
    """A peer with a good certificate that sends whatever it likes."""
    folder = tmp_path / "juki-net"
    with httpx.Client(base_url=sim.url, verify=mutual_tls(folder / "ca.pem", folder)) as client:
        yield client


def _national(raw: httpx.Client, code: str) -> Any:
    return raw.get(f"/national/v1/identity/{code}")


def test_notices_in_order_are_applied_and_answered_as_api_md_says(
    cs: HttpsPrefectureClient, raw: httpx.Client
) -> None:
    code, number = resident_code(), my_number()
    assert cs.identity(code) is None
    assert raw.get(f"/prefecture/v1/identity/{code}").status_code == 404
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    moved = notice(
        code, 2, MOVE_WITHIN, number, 住所="東京都小平市学園東町一丁目2番3号", 異動年月日="2025-07-01"
    )
    assert cs.send(moved) == Accepted(duplicate=False)
    held = cs.identity(code)
    assert held is not None
    assert held["resident_code"] == code and held["sequence"] == 2
    items = held["items"]
    assert isinstance(items, dict)
    assert items["更新順番号"] == "2" and items["異動事由"] == "転居" and items["漢字氏名"] == NAME
    assert items["住所"] == "東京都小平市学園東町一丁目2番3号" and items["個人番号"] == number
    national = _national(raw, code)
    assert national.status_code == 200 and national.json() == held  # forwarded to the national server


def test_a_repeat_is_acknowledged_and_not_applied_twice(cs: HttpsPrefectureClient, raw: httpx.Client) -> None:
    code, number = resident_code(), my_number()
    first = notice(code, 1, MOVE_IN, number)
    assert cs.send(first) == Accepted(duplicate=False)
    assert cs.send(first) == Accepted(duplicate=True)
    second = notice(code, 2, MOVE_WITHIN, number, 住所="東京都小平市花小金井一丁目1番1号")
    assert cs.send(second) == Accepted(duplicate=False)
    assert cs.send(first) == Accepted(duplicate=True)  # an older one again: still acknowledged
    assert cs.send(second) == Accepted(duplicate=True)
    held = cs.identity(code)
    assert held is not None and held["sequence"] == 2
    assert _national(raw, code).json()["sequence"] == 2
    answer = raw.post("/prefecture/v1/notices", json=second.to_json())
    assert answer.status_code == 200
    assert answer.json() == {"resident_code": code, "sequence": 2, "duplicate": True}


def test_out_of_order_is_refused_with_the_expected_sequence(
    cs: HttpsPrefectureClient, raw: httpx.Client
) -> None:
    code, number = resident_code(), my_number()
    early = raw.post("/prefecture/v1/notices", json=notice(code, 2, MOVE_IN, number).to_json())
    assert early.status_code == 409
    assert early.json()["code"] == "out_of_order" and early.json()["expected"] == 1
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    skipped = notice(code, 3, MOVE_WITHIN, number, 住所="東京都小平市上水本町一丁目1番1号")
    refused = cs.send(skipped)
    assert isinstance(refused, Refused) and refused.code == "out_of_order" and "expected 2" in refused.message
    answer = raw.post("/prefecture/v1/notices", json=skipped.to_json())
    assert answer.status_code == 409 and answer.json()["expected"] == 2
    held = cs.identity(code)
    assert held is not None and held["sequence"] == 1


def test_a_sequence_reused_with_other_items_is_refused(cs: HttpsPrefectureClient) -> None:
    code, number = resident_code(), my_number()
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    other = notice(code, 1, MOVE_IN, number, 住所="東京都小平市美園町一丁目1番1号")
    refused = cs.send(other)
    assert isinstance(refused, Refused) and refused.code == "sequence_reused"
    held = cs.identity(code)
    assert held is not None and held["items"]["住所"] == "東京都小平市小川町一丁目1番1号"  # type: ignore[index]


def test_a_first_notice_that_does_not_open_a_record_names_an_unknown_person(
    cs: HttpsPrefectureClient,
) -> None:
    code = resident_code()
    refused = cs.send(notice(code, 1, MOVE_WITHIN, my_number()))
    assert isinstance(refused, Refused)
    assert (refused.code, refused.item) == ("unknown_resident_code", "住民票コード")
    assert cs.identity(code) is None


@pytest.mark.parametrize(
    ("change", "item"),
    [
        ({"氏名": "山田"}, "氏名"),  # not an item of the list
        ({"住民票コード": None}, "住民票コード"),
        ({"個人番号": "123456789012"}, "個人番号"),  # wrong check digit
        ({"生年月日": "昭和55年4月1日"}, "生年月日"),
        ({"性別": "M"}, "性別"),
        ({"郵便番号": "187-0001"}, "郵便番号"),
        ({"外字数(氏名)": "一"}, "外字数(氏名)"),
    ],
)
def test_format_errors_name_the_item(
    cs: HttpsPrefectureClient, change: dict[str, str | None], item: str
) -> None:
    code = resident_code()
    refused = cs.send(notice(code, 1, MOVE_IN, my_number(), **change))
    assert isinstance(refused, Refused) and (refused.code, refused.item) == ("format_error", item)
    assert cs.identity(code) is None


@pytest.mark.parametrize(
    ("body", "item"),
    [
        ({"kind": "引越し"}, "異動事由"),
        ({"resident_code": "12345678901"}, "住民票コード"),  # wrong check digit
        ({"sequence": "1"}, "更新順番号"),
        ({"sequence": 0}, "更新順番号"),
        ({"items": [1, 2]}, None),
        ({"notice_id": None}, None),
    ],
)
def test_a_malformed_notice_is_a_format_error(
    raw: httpx.Client, body: dict[str, Any], item: str | None
) -> None:
    sent = notice(resident_code(), 1, MOVE_IN, my_number()).to_json() | body
    answer = raw.post("/prefecture/v1/notices", json=sent)
    assert answer.status_code == 422
    assert answer.json()["code"] == "format_error" and answer.json()["item"] == item


def test_a_body_that_is_not_json_is_a_format_error(raw: httpx.Client) -> None:
    answer = raw.post("/prefecture/v1/notices", content=b"\xff not json")
    assert answer.status_code == 422 and answer.json()["code"] == "format_error"


def test_logic_errors(cs: HttpsPrefectureClient) -> None:
    code, number = resident_code(), my_number()
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    again = cs.send(notice(code, 2, MOVE_IN, number))  # a 転入 of someone already present
    assert isinstance(again, Refused) and (again.code, again.item) == ("logic_error", "異動事由")
    # a 転居 that also changes the 続柄 (a partial move into another household): the 世帯変更 is its own notice
    wider = cs.send(notice(code, 2, MOVE_WITHIN, number, 住所="東京都小平市仲町1番1号", 続柄="子"))
    assert isinstance(wider, Refused) and (wider.code, wider.item) == ("logic_error", "続柄")
    other = cs.send(notice(code, 2, MOVE_WITHIN, number, 住民票コード=resident_code(2)))
    assert isinstance(other, Refused) and (other.code, other.item) == ("logic_error", "住民票コード")
    held = cs.identity(code)
    assert held is not None and held["sequence"] == 1


def test_a_person_removed_by_death_keeps_the_record(cs: HttpsPrefectureClient) -> None:
    code, number = resident_code(), my_number()
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    assert cs.send(notice(code, 2, DEATH, number, 異動年月日="2025-08-01")) == Accepted(duplicate=False)
    held = cs.identity(code)
    assert held is not None and held["sequence"] == 2 and held["items"]["異動事由"] == "死亡"  # type: ignore[index]
    after = cs.send(notice(code, 3, MOVE_WITHIN, number, 住所="東京都小平市仲町1番1号"))
    assert isinstance(after, Refused) and after.code == "logic_error"
    assert cs.send(notice(code, 3, NoticeKind.CANCELLATION, number)) == Accepted(duplicate=False)


def test_who_is_a_resident_decides_what_may_follow(cs: HttpsPrefectureClient) -> None:
    code, number = resident_code(), my_number()
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    assert cs.send(notice(code, 2, NoticeKind.MOVE_OUT, number)) == Accepted(duplicate=False)
    moved = cs.send(notice(code, 3, MOVE_WITHIN, number, 住所="東京都小平市仲町1番1号"))  # gone: no 転居
    assert isinstance(moved, Refused) and (moved.code, moved.item) == ("logic_error", "異動事由")
    assert cs.send(notice(code, 3, MOVE_IN, number)) == Accepted(duplicate=False)  # back again
    # the record's status (レコード状況フラグ) says it when the CS sends it: a 転入 cancelled leaves nobody
    cancelled = notice(code, 4, NoticeKind.CANCELLATION, number, レコード状況フラグ="1")
    assert cs.send(cancelled) == Accepted(duplicate=False)
    assert cs.send(notice(code, 5, MOVE_IN, number, レコード状況フラグ="0")) == Accepted(duplicate=False)


def test_no_item_value_reaches_the_log_or_the_file_in_plain(
    tmp_path: Path, cs: HttpsPrefectureClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    code, number = resident_code(), my_number()
    assert cs.send(notice(code, 1, MOVE_IN, number)) == Accepted(duplicate=False)
    assert isinstance(cs.send(notice(code, 3, MOVE_IN, number)), Refused)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("juki.sim.juki_net"))
    assert "applied" in logged and "out_of_order" in logged
    for value in (code, number, "山田", "小平市"):
        assert value not in logged
    stored = (tmp_path / "juki-net" / "juki-net.sqlite3").read_bytes()
    for value in (number, "山田", "小平市"):
        assert value.encode() not in stored
