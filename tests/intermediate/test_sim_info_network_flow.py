"""The simulated 情報提供ネットワークシステム end to end, over real mutual TLS: a serial, the 符号 J-LIS asks for
with it, the city's inbox; a 照会 answered by the network itself (no 符号) or forwarded to a city that reads its
inbox with the real client (`HttpNetworkClient`) and answers; `juki sim info-network query` printing the answer;
no answer; replays; answers delivered later; an outage that keeps what was issued."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from juki.cli.info_network import info_network_app
from juki.intermediate import wire
from juki.intermediate.adapters.network_client import HttpNetworkClient, UnknownQuery
from juki.intermediate.wire import LinkCodeIssued, NetworkUnreachable, Query, QueryAnswer
from juki.sim.info_network import Running, restart
from juki.sim.info_network.jlis_link import Refused, issue_link_code
from juki.sim.info_network.query import Ask, NoAnswer, deliveries, send_query
from juki.sim.info_network.store import DB_FILE
from tests.intermediate.info_network_support import (
    BASIS,
    CITY,
    REQUESTER,
    FakeCity,
    caller,
    resident_code,
    start,
    write_config,
)

runner = CliRunner()
DATA: dict[str, str | None] = {"世帯主の氏名": "山田\u3000太郎", "世帯主との続柄": "子"}


@pytest.fixture
def sim(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Running]:
    """The network; a test that waits for an answer that never comes asks for a shorter wait (`indirect`)."""
    running = start(tmp_path, answer_timeout=getattr(request, "param", 3.0))
    yield running
    running.stop()


NO_ANSWER_SECONDS = 0.5


@pytest.fixture
def config(tmp_path: Path, sim: Running) -> Path:
    return write_config(tmp_path, sim)


def _link(config: Path, code: str) -> str:
    """A serial for the city, and the 符号 J-LIS has the network issue for it; the serial."""
    with HttpNetworkClient.from_config(config) as city:
        serial = city.new_serial(CITY)
    assert issue_link_code(config, serial, CITY, code) is False
    return serial


def _answered(query: Query) -> QueryAnswer:
    return QueryAnswer(query.query_id, wire.ANSWERED, DATA, wire.PROVIDED)


def _query(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        info_network_app,
        ["query", "--config", str(config), "--requester", REQUESTER, "--basis", BASIS, *args],
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_serial_then_the_link_code_by_j_lis_reaches_the_citys_inbox(config: Path) -> None:
    code = resident_code()
    serial = _link(config, code)
    assert len(serial) == wire.SERIAL_LENGTH
    with HttpNetworkClient.from_config(config) as city:
        (message,) = city.inbox(CITY, 0)
        assert isinstance(message, LinkCodeIssued) and message.serial == serial
        assert len(message.link_code) == wire.LINK_CODE_LENGTH
        assert issue_link_code(config, serial, CITY, code) is True  # J-LIS repeats itself: queued once
        assert city.inbox(CITY, message.seq) == []
        second = city.new_serial(CITY)
        assert second != serial
        assert issue_link_code(config, second, CITY, code) is False
        (again,) = city.inbox(CITY, message.seq)
    assert isinstance(again, LinkCodeIssued) and again.serial == second
    assert again.link_code == message.link_code  # one 符号 per person, stable once issued
    other = _link(config, resident_code(2))
    with HttpNetworkClient.from_config(config) as city:
        (third,) = city.inbox(CITY, again.seq)
    assert (
        isinstance(third, LinkCodeIssued) and third.serial == other and third.link_code != message.link_code
    )


def test_j_lis_is_refused_an_unknown_serial_and_a_serial_used_for_another_person(config: Path) -> None:
    with pytest.raises(Refused) as unknown:
        issue_link_code(config, "B" * wire.SERIAL_LENGTH, CITY, resident_code())
    assert unknown.value.code == "unknown_serial"
    serial = _link(config, resident_code())
    with pytest.raises(Refused) as reused:
        issue_link_code(config, serial, CITY, resident_code(2))
    assert reused.value.code == "serial_reused"
    with pytest.raises(Refused) as elsewhere:  # the serial is 132110's: another city cannot use it
        issue_link_code(config, serial, "132012", resident_code())
    assert elsewhere.value.code == "unknown_serial"
    with HttpNetworkClient.from_config(config) as city:
        assert len(city.inbox(CITY, 0)) == 1


def test_a_person_without_a_link_code_is_answered_by_the_network_without_asking_the_city(
    config: Path,
) -> None:
    with FakeCity(config, _answered) as city:
        code, out, _ = _query(config, "--resident-code", resident_code(5))
    assert code == 0
    assert json.loads(out) == {"status": "no_link_code", "data": None, "message": wire.LINK_CODE_MISSING}
    assert city.queries == []


def test_a_query_goes_to_the_city_by_its_link_code_and_the_cli_prints_the_citys_answer(config: Path) -> None:
    code = resident_code()
    with FakeCity(config, _answered) as city:
        _link(config, code)
        exit_code, out, _ = _query(
            config, "--resident-code", code, "--items", "世帯主の氏名, 世帯主との続柄", "--query-id", "q-100"
        )
    assert exit_code == 0, out
    assert json.loads(out) == {"status": "answered", "data": DATA, "message": wire.PROVIDED}
    (query,) = city.queries
    assert (query.query_id, query.requester, query.legal_basis) == ("q-100", REQUESTER, BASIS)
    assert query.information == "住民票関係情報" and query.items == ("世帯主の氏名", "世帯主との続柄")
    assert query.link_code == next(iter(city.link_codes.values()))  # the city sees the 符号, not the code
    assert code not in repr(query)


def test_the_city_sees_a_forged_link_code_as_it_was_given(config: Path) -> None:
    def refuse(query: Query) -> QueryAnswer:
        return QueryAnswer(query.query_id, wire.REFUSED, None, wire.UNKNOWN_LINK_CODE)

    with FakeCity(config, refuse) as city:
        exit_code, out, _ = _query(config, "--link-code", "FORGED" * 4)
    assert exit_code == 0
    assert json.loads(out) == {"status": "refused", "data": None, "message": wire.UNKNOWN_LINK_CODE}
    assert [q.link_code for q in city.queries] == ["FORGED" * 4]
    assert city.queries[0].items is None  # no --items: every item


def test_a_replayed_query_id_reaches_the_city_again_and_gets_the_citys_second_answer(config: Path) -> None:
    code = resident_code()
    seen: set[str] = set()

    def once(query: Query) -> QueryAnswer:
        if query.query_id in seen:
            return QueryAnswer(query.query_id, wire.REFUSED, None, wire.DUPLICATE_QUERY)
        seen.add(query.query_id)
        return _answered(query)

    with FakeCity(config, once) as city:
        _link(config, code)
        first = send_query(config, Ask(REQUESTER, BASIS, code, query_id="q-7"))
        second = send_query(config, Ask(REQUESTER, BASIS, code, query_id="q-7"))
        third = send_query(config, Ask(REQUESTER, BASIS, code, query_id="q-7"))
    assert (first.status, second.status, third.status) == (wire.ANSWERED, wire.REFUSED, wire.REFUSED)
    assert second.message == wire.DUPLICATE_QUERY and second.data is None
    assert [q.query_id for q in city.queries] == ["q-7"] * 3


def test_a_query_without_an_id_gets_one(config: Path) -> None:
    with FakeCity(config, _answered) as city:
        _link(config, resident_code())
        answer = send_query(config, Ask(REQUESTER, BASIS, resident_code()))
    assert answer.status == wire.ANSWERED and answer.query_id == city.queries[0].query_id
    assert answer.query_id


@pytest.mark.parametrize("sim", [NO_ANSWER_SECONDS], indirect=True)
def test_no_answer_from_the_city_is_exit_1_with_a_message_on_stderr(config: Path) -> None:
    code = resident_code()
    with FakeCity(config, lambda q: None) as city:
        _link(config, code)
        started = time.monotonic()
        exit_code, out, err = _query(config, "--resident-code", code)
    assert exit_code == 1 and out == ""
    assert wire.NO_ANSWER in err
    assert NO_ANSWER_SECONDS <= time.monotonic() - started < 15  # the simulator's answer_timeout
    assert len(city.queries) == 1


def test_a_held_answer_released_later_is_delivered_to_the_requester(config: Path) -> None:
    code = resident_code()

    def hold(query: Query) -> QueryAnswer:
        return QueryAnswer(query.query_id, wire.PENDING, None, wire.HELD_FOR_REVIEW)

    with FakeCity(config, hold):
        _link(config, code)
        exit_code, out, _ = _query(config, "--resident-code", code, "--query-id", "q-held")
    assert exit_code == 0
    assert json.loads(out) == {"status": "pending", "data": None, "message": wire.HELD_FOR_REVIEW}
    assert deliveries(config, "q-held") == []
    released = QueryAnswer("q-held", wire.ANSWERED, DATA, wire.PROVIDED)
    with HttpNetworkClient.from_config(config) as city:
        assert city.answer(released) is False
        assert city.answer(released) is True  # the city repeats itself: delivered once
        with pytest.raises(UnknownQuery):
            city.answer(QueryAnswer("q-never", wire.REFUSED, None, wire.NOT_PROVIDED))
    (delivered,) = deliveries(config, "q-held")
    assert {k: delivered[k] for k in ("query_id", "status", "data", "message")} == released.to_json()
    result = runner.invoke(info_network_app, ["deliveries", "--config", str(config), "--query-id", "q-held"])
    assert result.exit_code == 0 and json.loads(result.stdout)["deliveries"][0]["status"] == "answered"


@pytest.mark.parametrize("sim", [NO_ANSWER_SECONDS], indirect=True)
def test_an_answer_holding_a_my_number_is_refused_and_never_stored(
    tmp_path: Path, sim: Running, config: Path
) -> None:
    from tests import factories

    number = factories.generate_my_number(__import__("random").Random(3))
    code = resident_code()
    with FakeCity(config, lambda q: None) as city:
        _link(config, code)
        with pytest.raises(NoAnswer):
            send_query(config, Ask(REQUESTER, BASIS, code, query_id="q-mn"))
        assert len(city.queries) == 1
    leaking = QueryAnswer("q-mn", wire.ANSWERED, {"世帯主の氏名": f"番号 {number}"}, wire.PROVIDED)
    folder = tmp_path / "info-network"
    with caller(sim, folder, "city") as city_link:
        res = city_link.post(wire.ANSWERS_PATH, json=leaking.to_json())
    assert res.status_code == 422 and res.json()["code"] == "my_number_in_answer"
    sim.stop()  # the store's file closed, then read whole
    stored = b"".join(p.read_bytes() for p in folder.glob(DB_FILE + "*"))
    assert number.encode() not in stored


def test_the_inbox_long_poll_answers_as_soon_as_a_message_comes(config: Path) -> None:
    with HttpNetworkClient.from_config(config) as city:
        serial = city.new_serial(CITY)
        started = time.monotonic()
        assert city.inbox(CITY, 0, wait=0.3) == []
        assert time.monotonic() - started >= 0.25  # held open for the wait

        import threading

        later = threading.Timer(0.2, issue_link_code, (config, serial, CITY, resident_code()))
        later.start()
        started = time.monotonic()
        messages = city.inbox(CITY, 0, wait=10)
        later.join()
    assert len(messages) == 1 and time.monotonic() - started < 5


def test_the_inbox_refuses_a_wait_beyond_the_wires_limit(tmp_path: Path, sim: Running) -> None:
    with caller(sim, tmp_path / "info-network", "city") as city:
        res = city.get(wire.INBOX_PATH, params={"city_code": CITY, "after": "0", "wait": "31"})
    assert res.status_code == 422 and res.json()["code"] == "invalid_field"


def test_a_restart_keeps_the_link_codes_and_the_inbox(tmp_path: Path, sim: Running, config: Path) -> None:
    code = resident_code()
    serial = _link(config, code)
    with HttpNetworkClient.from_config(config) as city:
        before = city.inbox(CITY, 0)
    running = restart(sim, tmp_path / "info-network")
    try:
        with HttpNetworkClient.from_config(config) as city:
            assert city.inbox(CITY, 0) == before
            assert issue_link_code(config, serial, CITY, code) is True  # the serial is still known as used
            second = city.new_serial(CITY)
            issue_link_code(config, second, CITY, code)
            (again,) = city.inbox(CITY, before[-1].seq)
        assert isinstance(again, LinkCodeIssued) and isinstance(before[0], LinkCodeIssued)
        assert again.link_code == before[0].link_code and again.seq > before[0].seq
        with FakeCity(config, _answered):
            assert send_query(config, Ask(REQUESTER, BASIS, code)).status == wire.ANSWERED
    finally:
        running.stop()


def test_while_the_network_is_down_the_query_cannot_be_sent(
    tmp_path: Path, sim: Running, config: Path
) -> None:
    sim.stop()
    exit_code, out, err = _query(config, "--resident-code", resident_code())
    assert exit_code == 1 and out == "" and "接続できません" in err
    with pytest.raises(NetworkUnreachable):
        issue_link_code(config, "C" * wire.SERIAL_LENGTH, CITY, resident_code())


def test_the_cli_refuses_both_or_neither_person_and_a_missing_config(tmp_path: Path, config: Path) -> None:
    assert _query(config)[0] == 2
    assert _query(config, "--resident-code", resident_code(), "--link-code", "X" * 24)[0] == 2
    exit_code, _, err = _query(tmp_path / "missing.json", "--resident-code", resident_code())
    assert exit_code == 1 and "missing.json" in err


def test_a_malformed_query_is_refused_by_the_network(tmp_path: Path, sim: Running) -> None:
    body = {"requester": REQUESTER, "legal_basis": BASIS, "information": "住民票関係情報", "items": "全部"}
    with caller(sim, tmp_path / "info-network", "client") as requester:
        for wrong in (body | {"resident_code": resident_code()}, body | {"items": None}):
            res = requester.post(wire.QUERIES_PATH, json=wrong)
            assert res.status_code == 422 and res.json()["code"] == "invalid_field"
        res = requester.post(wire.QUERIES_PATH, content=b"not json")
    assert res.status_code == 422
    assert isinstance(res, httpx.Response)
