"""The simulated J-LIS over real mutual TLS (juki.sim.juki_net.jlis; the wire cs/jlis_wire.py), through the CS's
client: blocks of valid 住民票コード never issued twice (a restart neither), 個人番号 requests answered once for a
person the national server holds, the 送付先情報 checked for its form and against the 本人確認情報 (情報の突合),
and a 住民票コード変更 re-keying the person at the prefecture and national servers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from juki.cs.adapters.jlis_client import HttpsJlisClient
from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.jlis_wire import Answer, BlockRequest, NotYetKnown, NumberRequestOut, Taken
from juki.cs.wire import Accepted, NoticeKind, Refused
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit
from juki.sim.juki_net import Running, restart, start_in_thread
from juki.sim.juki_net import jlis as sim_jlis
from tests.cs.jlis_support import CITY, hooks, mailing_items, mailing_record
from tests.cs.juki_net_support import cs_client, mutual_tls, my_number, notice, resident_code
from tests.leakcheck import KNOWN

K = NoticeKind


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[list[Running]]:
    running = [start_in_thread(tmp_path / "juki-net")]
    yield running
    running[0].stop()


@pytest.fixture
def link(tmp_path: Path, sim: list[Running]) -> Iterator[HttpsPrefectureClient]:
    with cs_client(sim[0].url, tmp_path / "juki-net") as client:
        yield client


@pytest.fixture
def jlis(link: HttpsPrefectureClient) -> HttpsJlisClient:
    return HttpsJlisClient(link)


@pytest.fixture
def raw(tmp_path: Path, sim: list[Running]) -> Iterator[httpx.Client]:
    folder = tmp_path / "juki-net"
    with httpx.Client(base_url=sim[0].url, verify=mutual_tls(folder / "ca.pem", folder)) as client:
        yield client


def _valid(code: str) -> bool:
    return len(code) == 11 and code.isdigit() and resident_code_check_digit(code[:10]) == code[10]


def _known(link: HttpsPrefectureClient, seed: int, kind: K = K.BIRTH, **changes: str | None) -> str:
    """A person the prefecture (and so the national server) holds, a resident of the city."""
    code = resident_code(seed)
    assert link.send(notice(code, 1, kind, my_number(), **changes)) == Accepted(duplicate=False)
    return code


# --- 住民票コード blocks ------------------------------------------------------------------------------------------


def test_blocks_are_valid_codes_never_issued_twice_not_even_after_a_restart(tmp_path, sim, link, jlis):
    first = jlis.issue_block(BlockRequest("B-1", CITY, 300))
    second = jlis.issue_block(BlockRequest("B-2", CITY, 300))
    assert not isinstance(first, Refused) and not isinstance(second, Refused)
    assert len(first.codes) == len(set(first.codes)) == 300 and all(_valid(c) for c in first.codes)
    assert not set(first.codes) & set(second.codes) and first.block_id != second.block_id
    again = jlis.issue_block(BlockRequest("B-1", CITY, 300))  # the answer was lost: the same block again
    assert again == first
    reused = jlis.issue_block(BlockRequest("B-1", CITY, 10))
    assert isinstance(reused, Refused) and reused.code == "block_request_reused"
    sim[0] = restart(sim[0], tmp_path / "juki-net")
    with cs_client(sim[0].url, tmp_path / "juki-net") as after:
        third = HttpsJlisClient(after).issue_block(BlockRequest("B-3", CITY, 300))
        assert HttpsJlisClient(after).issue_block(BlockRequest("B-1", CITY, 300)) == first
    assert not isinstance(third, Refused)
    assert not set(third.codes) & (set(first.codes) | set(second.codes))


def test_a_block_never_holds_a_code_someone_the_network_knows_holds(link, jlis, monkeypatch):
    held = _known(link, 11)
    fresh = resident_code(12)
    drawn = iter([held, fresh])
    monkeypatch.setattr(sim_jlis, "generate_resident_code", lambda rng: next(drawn))
    block = jlis.issue_block(BlockRequest("B-held", CITY, 1))
    assert not isinstance(block, Refused) and block.codes == (fresh,)


@pytest.mark.parametrize(
    "body",
    [{"block_request_id": "B", "city_code": CITY, "size": 0}, {"block_request_id": "B", "city_code": "1321", "size": 5},
     {"block_request_id": "", "city_code": CITY, "size": 5}, {"block_request_id": "B", "city_code": CITY, "size": 10001},
     ["not", "an", "object"]],
)  # fmt: skip
def test_a_malformed_block_request_is_refused_and_issues_nothing(raw, body):
    res = raw.post("/jlis/v1/resident-code-blocks", json=body)
    assert res.status_code == 422 and res.json()["code"] == "format_error"
    good = raw.post(
        "/jlis/v1/resident-code-blocks", json={"block_request_id": "B", "city_code": CITY, "size": 5}
    )
    assert good.status_code == 200 and len(good.json()["codes"]) == 5


# --- 個人番号 requests and answers -----------------------------------------------------------------------------------


def test_a_request_for_a_person_not_yet_known_waits_then_is_answered_once(link, jlis):
    code = resident_code(21)
    request = NumberRequestOut("N-1", "生成", CITY, code)
    assert jlis.request_number(request) == NotYetKnown()  # the 出生 notice has not arrived
    assert jlis.answers(CITY, 0) == []
    assert link.send(notice(code, 1, K.BIRTH, None)) == Accepted(duplicate=False)  # type: ignore[arg-type]
    assert jlis.request_number(request) == Taken(duplicate=False)
    assert jlis.request_number(request) == Taken(duplicate=True)  # idempotent by request id
    reused = jlis.request_number(NumberRequestOut("N-1", "変更", CITY, code))
    assert isinstance(reused, Refused) and reused.code == "request_reused"
    other_city = jlis.request_number(NumberRequestOut("N-2", "生成", "131016", code))
    assert other_city == NotYetKnown()  # the national server holds the person as 小平市's
    (answer,) = jlis.answers(CITY, 0)
    assert isinstance(answer, Answer)
    KNOWN.add(answer.my_number)
    assert (answer.request_id, answer.resident_code) == ("N-1", code)
    number = answer.my_number
    assert len(number) == 12 and number.isdigit() and my_number_check_digit(number[:11]) == number[11]
    assert jlis.answers(CITY, answer.seq) == [] and jlis.answers("131016", 0) == []
    assert number not in repr(answer)


def test_a_number_the_network_knows_is_never_generated_again(link, jlis, monkeypatch):
    notified = my_number()
    code = resident_code(31)
    assert link.send(notice(code, 1, K.BIRTH, notified)) == Accepted(duplicate=False)
    other = "123456789018"  # check digit right
    drawn = iter([notified, other])
    monkeypatch.setattr(sim_jlis, "generate_my_number", lambda rng: next(drawn))
    KNOWN.add(other)
    assert jlis.request_number(NumberRequestOut("N-c", "変更", CITY, code)) == Taken(duplicate=False)
    (answer,) = jlis.answers(CITY, 0)
    assert isinstance(answer, Answer) and answer.my_number == other


@pytest.mark.parametrize(
    "body",
    [{"request_id": "N", "kind": "発行", "city_code": CITY, "resident_code": "12345678903"},
     {"request_id": "N", "kind": "生成", "city_code": CITY, "resident_code": "12345678900"},
     {"request_id": "x" * 41, "kind": "生成", "city_code": CITY, "resident_code": "12345678903"}, "text"],
)  # fmt: skip
def test_a_malformed_request_is_refused(raw, body):
    res = raw.post("/jlis/v1/number-requests", json=body)
    assert res.status_code == 422 and res.json()["code"] == "format_error"


def test_the_test_hooks_make_j_lis_misbehave_in_process(tmp_path, link, jlis):
    code = _known(link, 41)
    misbehave = hooks(tmp_path / "juki-net")
    misbehave.force_next_block(["12345678903"])
    block = jlis.issue_block(BlockRequest("B-forced", CITY, 5))
    assert not isinstance(block, Refused) and block.codes == ("12345678903",)
    forced = "123456789018"
    KNOWN.add(forced)
    misbehave.force_next_number(forced)
    assert jlis.request_number(NumberRequestOut("N-f", "生成", CITY, code)) == Taken(duplicate=False)
    misbehave.inject_answer(CITY, {"request_id": 7})
    taken, malformed = jlis.answers(CITY, 0)
    assert isinstance(taken, Answer) and taken.my_number == forced
    assert not isinstance(malformed, Answer) and malformed.seq > taken.seq


# --- 送付先情報 -------------------------------------------------------------------------------------------------------


def test_a_record_is_kept_once_and_shown_with_the_31_items_and_the_person(link, jlis, raw):
    code = _known(link, 51)
    record = mailing_record("M-1", code)
    assert jlis.deliver_mailing(record) == Accepted(duplicate=False)
    assert jlis.deliver_mailing(record) == Accepted(duplicate=True)
    other = mailing_record("M-1", code, 市町村電話番号="042-000-0000")
    reused = jlis.deliver_mailing(other)
    assert isinstance(reused, Refused) and reused.code == "record_reused"
    flags = mailing_record("M-2", code)
    with_flags = type(flags)(flags.record_id, flags.city_code, flags.resident_code, False,
                             flags.items | {"印字区分": "通常", "特殊事情": "なし"})  # fmt: skip
    assert jlis.deliver_mailing(with_flags) == Accepted(duplicate=False)
    res = raw.get("/jlis/v1/mailing", params={"resident_code": code})
    assert res.status_code == 200
    records = res.json()["records"]
    assert [r["送付先管理番号"] for r in records] == ["M-1", "M-2"]
    assert set(records[0]) == {*mailing_items("M-1"), "resident_code"} and records[0]["resident_code"] == code
    assert raw.get("/jlis/v1/mailing", params={"resident_code": resident_code(52)}).json() == {"records": []}


@pytest.mark.parametrize(
    ("changes", "item"),
    [({"送付先氏名 漢字項目長": 4}, "送付先氏名 漢字項目長"), ({"送付先住所 漢字外字数": -1}, "送付先住所 漢字外字数"),
     ({"送付先郵便番号": "18700"}, "送付先郵便番号"), ({"送付先氏名 漢字": ""}, "送付先氏名 漢字"),
     ({"市町村コード": "13211"}, "市町村コード"), ({"個人番号": "123456789018"}, "個人番号"),
     ({"市町村名": True}, "市町村名")],
)  # fmt: skip
def test_a_malformed_record_is_refused_naming_the_item_and_nothing_is_kept(link, jlis, raw, changes, item):
    code = _known(link, 61)
    if "送付先氏名 漢字" in changes:
        changes = changes | {"送付先氏名 漢字項目長": 0}
    answer = jlis.deliver_mailing(mailing_record("M-bad", code, **changes))
    assert answer == Refused("format_error", item, answer.message)  # type: ignore[union-attr]
    assert raw.get("/jlis/v1/mailing", params={"resident_code": code}).json() == {"records": []}


def test_a_record_without_an_item_or_of_another_shape_is_refused(link, raw):
    code = _known(link, 62)
    items = mailing_items("M-x")
    del items["市町村電話番号"]
    body = {"record_id": "M-x", "city_code": CITY, "resident_code": code, "items": items}
    res = raw.post("/jlis/v1/mailing", json=body)
    assert res.status_code == 422 and res.json()["item"] == "市町村電話番号"
    for bad in ([], {"record_id": "M-x"}, body | {"to_residence": "yes"}, body | {"resident_code": "1"}):
        assert raw.post("/jlis/v1/mailing", json=bad).json()["code"] == "format_error"
    assert raw.post("/jlis/v1/mailing", content=b"{not json").status_code == 422


def test_the_record_is_matched_against_the_identity_j_lis_holds(link, jlis):
    code = _known(link, 71, 郵便番号="1870001")

    def sent(record_id: str, **kwargs: object) -> Accepted | Refused:
        return jlis.deliver_mailing(mailing_record(record_id, code, **kwargs))  # type: ignore[arg-type]

    assert sent("M-a", address="東京都小平市小川町一丁目1番1号\u3000小川パレス203") == Accepted(
        duplicate=False
    )
    for record_id, kwargs, item in (
        ("M-b", {"address": "東京都小平市小川町一丁目1番10号"}, "送付先住所 漢字"),
        ("M-c", {"address": "東京都小平市小川町一丁目1番1号棟"}, "送付先住所 漢字"),
        ("M-d", {"送付先郵便番号": "1870002"}, "送付先郵便番号"),
        ("M-e", {"市町村コード": "131016"}, "市町村コード"),
    ):
        answer = sent(record_id, **kwargs)
        assert isinstance(answer, Refused) and (answer.code, answer.item) == ("mismatch", item), record_id
    assert sent("M-f", to_residence=True, address="東京都府中市宮西町二丁目24番地") == Accepted(
        duplicate=False
    )
    unknown = jlis.deliver_mailing(mailing_record("M-g", resident_code(72)))
    assert isinstance(unknown, Refused) and (unknown.code, unknown.item) == ("mismatch", "住民票コード")
    assert link.send(notice(code, 2, K.MOVE_OUT, my_number(), レコード状況フラグ="1")) == Accepted(
        duplicate=False
    )
    gone = sent("M-h")
    assert isinstance(gone, Refused) and (gone.code, gone.item) == ("mismatch", "住民票コード")


def test_the_simulators_log_holds_ids_and_codes_never_a_code_or_a_number(link, jlis, caplog):
    caplog.set_level(logging.INFO, logger="juki.sim.juki_net")
    code = _known(link, 81)
    jlis.issue_block(BlockRequest("B-log", CITY, 3))
    jlis.request_number(NumberRequestOut("N-log", "生成", CITY, code))
    (answer,) = jlis.answers(CITY, 0)
    assert isinstance(answer, Answer)
    KNOWN.add(answer.my_number)
    jlis.deliver_mailing(mailing_record("M-log", code))
    jlis.deliver_mailing(mailing_record("M-log2", code, address="東京都小平市喜平町一丁目1番1号"))
    text = caplog.text
    assert "N-log" in text and "M-log" in text and "mismatch" in text
    assert code not in text and answer.my_number not in text


# --- 住民票コード変更 re-keys the person ------------------------------------------------------------------------------


def test_a_resident_code_change_moves_the_person_to_the_new_code(link, raw):
    old, new, number = resident_code(91), resident_code(92), my_number()
    assert link.send(notice(old, 1, K.MOVE_IN, number)) == Accepted(duplicate=False)
    change = notice(
        new, 2, K.RESIDENT_CODE_CHANGE, number, 旧住民票コード=old, 住民票コード使用年月日="2025-07-01"
    )
    assert link.send(change) == Accepted(duplicate=False)
    assert link.send(change) == Accepted(duplicate=True)
    assert link.identity(old) is None and raw.get(f"/national/v1/identity/{old}").status_code == 404
    held = link.identity(new)
    assert held is not None and held["sequence"] == 2
    assert held["items"]["旧住民票コード"] == old and held["items"]["異動事由"] == "住民票コード変更"
    national = raw.get(f"/national/v1/identity/{new}").json()
    assert national["items"]["旧住民票コード"] == old
    assert link.send(notice(new, 3, K.MY_NUMBER_CHANGED, "123456789018")) == Accepted(duplicate=False)
    KNOWN.add("123456789018")


def test_a_resident_code_change_is_refused_when_it_cannot_re_key(link):
    old, new, taken = resident_code(93), resident_code(94), resident_code(95)
    for code in (old, taken):
        assert link.send(notice(code, 1, K.MOVE_IN, my_number())) == Accepted(duplicate=False)
    cases = (
        (
            notice(new, 2, K.RESIDENT_CODE_CHANGE, my_number(), 旧住民票コード=resident_code(96)),
            "unknown_resident_code",
        ),
        (notice(new, 2, K.RESIDENT_CODE_CHANGE, my_number()), "logic_error"),  # no 旧住民票コード
        (notice(taken, 2, K.RESIDENT_CODE_CHANGE, my_number(), 旧住民票コード=old), "logic_error"),
        (notice(new, 3, K.RESIDENT_CODE_CHANGE, my_number(), 旧住民票コード=old), "out_of_order"),
        (notice(old, 2, K.MY_NUMBER_ASSIGNED, my_number(), 漢字氏名="山田\u3000次郎"), "logic_error"),
    )
    for change, code in cases:
        answer = link.send(change)
        assert isinstance(answer, Refused) and answer.code == code, change.kind
    assert link.identity(old) is not None and link.identity(new) is None
