"""The national server's query (`POST /national/v1/queries`, docs/cs-search.md) over real mutual TLS: the simulator
answers the persons of other cities the conditions select, without the 個人番号, and refuses a query without a
purpose or with too few items; the CS's client reads the answers strictly; the service logs every query with its
purpose and item names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from juki.adapters import tables as rt
from juki.cs.adapters import query_tables as qt
from juki.cs.adapters.national_client import HttpsNationalClient
from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.domain import search as rules
from juki.cs.services import search
from juki.cs.wire import Accepted, NoticeKind, Unreachable
from juki.domain.errors import Forbidden
from juki.sim.juki_net import Running, start_in_thread
from tests.cs.juki_net_support import cs_client, mutual_tls, my_number, notice, resident_code
from tests.cs.support import CLERK, CS_OPERATOR, rows
from tests.leakcheck import spellings

MUSASHINO = {"市町村コード": "132039", "住所": "東京都武蔵野市吉祥寺本町一丁目1番1号"}
SAPPORO = {"市町村コード": "011002", "住所": "北海道札幌市中央区北一条西二丁目1番地"}


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Running]:
    running = start_in_thread(tmp_path / "juki-net")
    yield running
    running.stop()


@pytest.fixture
def link(tmp_path: Path, sim: Running) -> Iterator[HttpsPrefectureClient]:
    with cs_client(sim.url, tmp_path / "juki-net") as client:
        yield client


@pytest.fixture
def raw(tmp_path: Path, sim: Running) -> Iterator[httpx.Client]:
    folder = tmp_path / "juki-net"
    with httpx.Client(base_url=sim.url, verify=mutual_tls(folder / "ca.pem", folder)) as client:
        yield client


@pytest.fixture
def others(link: HttpsPrefectureClient) -> dict[str, Any]:
    """Persons of other cities the national server holds: 山田 太郎 in 武蔵野市, his namesake born the same day in
    札幌市, and 佐藤 花子 in 武蔵野市."""
    yamada = {"清音化かな氏名": "ヤマタ\u3000タロオ"}
    people = {
        "musashino": (resident_code(11), my_number(), {**yamada, **MUSASHINO}),
        "sapporo": (resident_code(12), my_number(), {**yamada, **SAPPORO}),
        "sato": (resident_code(13), my_number(), {**MUSASHINO, "漢字氏名": "佐藤\u3000花子",
                 "清音化かな氏名": "サトオ\u3000ハナコ", "性別": "女", "生年月日": "1990-01-02"}),
    }  # fmt: skip
    for code, number, items in people.values():
        assert link.send(notice(code, 1, NoticeKind.MOVE_IN, number, **items)) == Accepted(duplicate=False)
    return {k: code for k, (code, _, _) in people.items()} | {"numbers": [n for _, n, _ in people.values()]}


def _query(link: HttpsPrefectureClient, purpose: str = "30-12", **given: Any) -> search.NationalAnswer:
    return HttpsNationalClient(link).query(purpose, rules.conditions(**given))


def test_a_query_by_resident_code_answers_that_person_without_the_my_number(link, others):
    answer = _query(link, resident_code=others["musashino"])
    [person] = answer.persons
    assert person.resident_code == others["musashino"] and not answer.truncated
    assert person.items["住所"] == MUSASHINO["住所"] and person.items["漢字氏名"] == "山田\u3000太郎"
    assert "個人番号" not in person.items
    assert not any(n in spellings(repr(answer)) for n in others["numbers"])


def test_an_unknown_resident_code_answers_no_one(link, others):
    assert _query(link, "30-10", resident_code="12345678903").persons == []


def test_a_query_by_the_4_information_answers_exactly_whom_they_select(link, others):
    born = date(1980, 4, 1)
    both = _query(link, name="山田 太郎", birth_date=born, sex="男")
    assert sorted(p.resident_code for p in both.persons) == sorted([others["musashino"], others["sapporo"]])
    one = _query(
        link, name="やまだ たろう", address="武蔵野市吉祥寺本町", birth_date=born
    )  # after the 都道府県
    assert [p.resident_code for p in one.persons] == [
        others["musashino"]
    ]  # not 札幌, not 佐藤 at that address
    assert _query(link, name="山田 太郎", birth_date=born, sex="女").persons == []


@pytest.mark.parametrize(
    ("body", "code", "item"),
    [
        ({"resident_code": "12345678903"}, "purpose_required", None),
        ({"purpose": "", "name": "山田", "address": "武蔵野市"}, "purpose_required", None),
        ({"purpose": "30-9", "resident_code": "12345678903"}, "unknown_purpose", None),
        ({"purpose": "30-12", "name": "山田 太郎"}, "search_needs_two_items", None),
        ({"purpose": "30-12", "name": "山田", "sex": "男"}, "search_needs_two_items", None),
        ({"purpose": "30-12", "address": "武蔵野市", "birth_date": "1980-04-01"}, "search_needs_name", None),
        ({"purpose": "30-12", "name": "山田", "birth_date": "S55.4.1"}, "format_error", "生年月日"),
        ({"purpose": "30-12", "resident_code": "12345678904"}, "format_error", "住民票コード"),
        (
            {"purpose": "30-12", "resident_code": "12345678903", "name": "山田"},
            "format_error",
            "住民票コード",
        ),
        ({"purpose": "30-12", "resident_code": 12345678903}, "format_error", "住民票コード"),
        ({"purpose": "30-12", "my_number": "x"}, "format_error", None),
    ],
)
def test_the_simulator_refuses_a_query_without_purpose_or_with_too_few_items(raw, others, body, code, item):
    res = raw.post("/national/v1/queries", json=body)
    assert res.status_code == 422
    assert (res.json()["code"], res.json()["item"]) == (code, item)


def test_the_identity_endpoint_of_the_national_server_is_unchanged(raw, others):
    held = raw.get(f"/national/v1/identity/{others['sato']}").json()
    assert held["resident_code"] == others["sato"] and held["items"]["個人番号"] in others["numbers"]


# --- the client reads strictly ---------------------------------------------------------------------------------------


def _faked(answer: httpx.Response) -> HttpsPrefectureClient:
    return HttpsPrefectureClient(
        "https://juki-net.test", httpx.Client(transport=httpx.MockTransport(lambda r: answer))
    )


ITEMS = {
    "住民票コード": "12345678903",
    "漢字氏名": "山田\u3000太郎",
    "生年月日": "1980-04-01",
    "住所": "東京都武蔵野市",
}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"purpose": "30-12", "persons": [], "truncated": "no"}),
        httpx.Response(200, json={"purpose": "30-10", "persons": [], "truncated": False}),  # another query's
        httpx.Response(200, json={"purpose": "30-12", "persons": [{"resident_code": "12345678903", "sequence": 1,
                       "items": {**ITEMS, "漢字氏名": "佐藤\u3000花子"}}], "truncated": False}),  # not selected
        httpx.Response(200, json={"purpose": "30-12", "persons": [{"resident_code": "12345678903", "sequence": 1,
                       "items": {**ITEMS, "好きな色": "青"}}], "truncated": False}),  # not an item of the wire
        httpx.Response(200, json={"purpose": "30-12", "persons": [{"resident_code": "12345678904", "sequence": 1,
                       "items": ITEMS}], "truncated": False}),  # a code with a wrong check digit
        httpx.Response(422, json={"code": "teapot", "message": "?"}),
        httpx.Response(500, text="oops"),
        httpx.Response(200, text="not json"),
    ],
)  # fmt: skip
def test_the_client_takes_no_malformed_or_unselected_answer(answer: httpx.Response) -> None:
    with pytest.raises(Unreachable):
        _query(_faked(answer), "30-12", name="山田 太郎", birth_date=date(1980, 4, 1))


def test_the_client_drops_a_my_number_the_server_sent_and_reads_a_refusal_in_its_own_words() -> None:
    sent = {"purpose": "30-12", "persons": [{"resident_code": "12345678903", "sequence": 2,
            "items": {**ITEMS, "個人番号": "123456789018"}}], "truncated": True}  # fmt: skip
    answer = _query(_faked(httpx.Response(200, json=sent)), resident_code="12345678903")
    assert answer.truncated and "個人番号" not in answer.persons[0].items
    refusal = httpx.Response(422, json={"code": "purpose_required", "item": None, "message": "山田 太郎 ..."})
    with pytest.raises(search.QueryRefused) as refused:
        _query(_faked(refusal), resident_code="12345678903")
    assert refused.value.code == "purpose_required" and "山田" not in refused.value.message


# --- the service: purpose required, every query logged ----------------------------------------------------------------


def _national(j: Any, cs: Any, link: Any, **params: str) -> search.NationalAnswer:
    client = HttpsNationalClient(link) if link is not None else None
    return search.query_national(j.uow, cs.transaction, qt.book, CS_OPERATOR, client, params)


def test_the_operators_query_states_its_purpose_and_is_logged_without_values(j, cs, link, others):
    answer = _national(j, cs, link, purpose="30-12", name="ヤマダ タロウ", birth_date="昭和55年4月1日")
    assert len(answer.persons) == 2
    with pytest.raises(rules.PurposeRequired):
        _national(j, cs, link, name="ヤマダ タロウ", birth_date="昭和55年4月1日")
    with pytest.raises(rules.SearchNeedsTwoItems):
        _national(j, cs, link, purpose="30-10", name="ヤマダ タロウ")
    got = [
        (r.kind, r.purpose, r.conditions, r.result, r.answered) for r in rows(cs, qt.queries, qt.queries.c.id)
    ]
    assert got == [
        ("national", "30-12", ["氏名", "生年月日"], "ok", 2),
        ("national", None, ["氏名", "生年月日"], "purpose_required", 0),
        ("national", "30-10", ["氏名"], "search_needs_two_items", 0),
    ]
    with j.engine.connect() as conn:
        entries = list(
            conn.execute(select(rt.operation_log).where(rt.operation_log.c.action == "cs:national_query"))
        )
    assert [(e.result, e.facts.get("purpose")) for e in entries] == [
        ("ok", "30-12"), ("purpose_required", None), ("search_needs_two_items", "30-10")
    ]  # fmt: skip
    assert "住基法第30条の12" in entries[0].detail
    said = " ".join([e.detail for e in entries] + [r.message for r in rows(cs, qt.t.log, qt.t.log.c.id)])
    assert "ヤマダ" not in said and "1980" not in said and "昭和55" not in said


def test_without_a_link_or_with_the_server_down_the_query_is_unavailable_and_logged(j, cs, sim, link, others):
    with pytest.raises(search.JukiNetUnavailable):
        _national(j, cs, None, purpose="30-12", resident_code=others["sato"])
    sim.stop()
    with pytest.raises(search.JukiNetUnavailable) as down:
        _national(j, cs, link, purpose="30-12", resident_code=others["sato"])
    assert down.value.status == 503
    assert [r.result for r in rows(cs, qt.queries, qt.queries.c.id)] == ["unreachable", "unreachable"]


def test_only_the_cs_operator_may_query(j, cs, link, others):
    with pytest.raises(Forbidden):
        search.query_national(j.uow, cs.transaction, qt.book, CLERK, HttpsNationalClient(link),
                              {"purpose": "30-12", "resident_code": others["sato"]})  # fmt: skip
    assert rows(cs, qt.queries, qt.queries.c.id) == []
