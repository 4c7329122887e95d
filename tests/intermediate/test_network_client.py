"""The 中間サーバー's client of the network (`HttpNetworkClient`) reads answers strictly: a network that is down,
refuses the handshake or answers anything but the wire's shape is `NetworkUnreachable` (try again later); an inbox
entry with its place but not a message's shape is a `MalformedMessage` the city moves past."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from juki.intermediate import wire
from juki.intermediate.adapters.network_client import HttpNetworkClient, NetworkConfig, UnknownQuery
from juki.intermediate.wire import LinkCodeIssued, MalformedMessage, NetworkUnreachable, Query, QueryAnswer
from juki.sim.info_network import restart
from juki.sim.info_network.pki import ensure_pki
from tests.intermediate.info_network_support import CITY, start, write_config

SERIAL = "S" * wire.SERIAL_LENGTH
LINK = "L" * wire.LINK_CODE_LENGTH
REQUESTER, BASIS = "全国健康保険協会", "番号法別表第2 第3項"
QUERY: dict[str, Any] = {
    "kind": "query",
    "query_id": "q-1",
    "requester": REQUESTER,
    "legal_basis": BASIS,
    "information": "住民票関係情報",
    "items": ["世帯主の氏名"],
    "link_code": LINK,
}
ANSWER = QueryAnswer("q-1", wire.REFUSED, None, wire.NOT_PERMITTED)


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> HttpNetworkClient:
    return HttpNetworkClient(
        httpx.Client(base_url="https://network.test", transport=httpx.MockTransport(handler))
    )


def _answering(status: int, body: Any) -> HttpNetworkClient:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _client(lambda request: httpx.Response(status, content=content))


def test_the_wires_answers_are_read() -> None:
    seen: list[httpx.Request] = []

    def network(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == wire.SERIALS_PATH:
            return httpx.Response(200, json={"serial": SERIAL})
        if request.url.path == wire.ANSWERS_PATH:
            return httpx.Response(200, json={"query_id": "q-1", "duplicate": True})
        messages = [{"seq": 4, "kind": "link_code", "serial": SERIAL, "link_code": LINK}, {"seq": 9, **QUERY}]
        return httpx.Response(200, json={"messages": messages})

    with _client(network) as client:
        assert client.new_serial(CITY) == SERIAL
        assert client.inbox(CITY, 3, wait=40) == [
            LinkCodeIssued(4, SERIAL, LINK),
            Query(
                9, "q-1", QUERY["requester"], QUERY["legal_basis"], "住民票関係情報", ("世帯主の氏名",), LINK
            ),
        ]
        assert client.answer(ANSWER) is True
    assert json.loads(seen[0].content) == {"city_code": CITY}
    assert dict(seen[1].url.params) == {
        "city_code": CITY,
        "after": "3",
        "wait": "30",
    }  # at most the wire's limit
    assert json.loads(seen[2].content) == ANSWER.to_json()


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"kind": "link_code", "serial": SERIAL}, "link_code"),
        ({"kind": "link_code", "serial": 7, "link_code": LINK}, "serial"),
        ({"kind": "hello"}, "kind"),
        ({k: v for k, v in QUERY.items() if k != "legal_basis"}, "legal_basis"),
        (QUERY | {"items": "世帯主の氏名"}, "items"),
        (QUERY | {"items": [""]}, "items"),
        (QUERY | {"query_id": "q" * 65}, "query_id"),
    ],
)
def test_an_entry_with_a_place_but_not_a_messages_shape_is_malformed(
    entry: dict[str, Any], reason: str
) -> None:
    good = {"seq": 6, "kind": "link_code", "serial": SERIAL, "link_code": LINK}
    with _answering(200, {"messages": [{"seq": 5, **entry}, good]}) as client:
        bad, after = client.inbox(CITY, 0)
    assert isinstance(bad, MalformedMessage) and bad.seq == 5 and reason in bad.reason
    assert LINK not in bad.reason and after == LinkCodeIssued(6, SERIAL, LINK)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"kind": "link_code", "serial": SERIAL, "link_code": LINK}]},  # no place
        {"messages": [{"seq": 2, "kind": "link_code", "serial": SERIAL, "link_code": LINK}]},  # not after 2
        {"messages": [{"seq": 5, **QUERY}, {"seq": 4, **QUERY}]},  # out of order
        {"messages": [{"seq": True, **QUERY}]},
        {"messages": ["a message"]},
        {"messages": None},
        [],
        b"<html>maintenance</html>",
    ],
)
def test_an_inbox_page_that_cannot_be_placed_is_unreachable(body: Any) -> None:
    with _answering(200, body) as client, pytest.raises(NetworkUnreachable):
        client.inbox(CITY, 2)


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, {"code": "error"}), (403, {"code": "not_allowed", "message": "x"}), (200, {"serial": "short"})],
)
def test_a_serial_of_another_shape_or_status_is_unreachable(status: int, body: Any) -> None:
    with _answering(status, body) as client, pytest.raises(NetworkUnreachable):
        client.new_serial(CITY)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"query_id": "q-2", "duplicate": False}),  # another query's acknowledgement
        (200, {"query_id": "q-1", "duplicate": "no"}),
        (422, {"code": "invalid_field", "message": "x"}),
        (503, b""),
    ],
)
def test_an_answers_acknowledgement_of_another_shape_is_unreachable(status: int, body: Any) -> None:
    with _answering(status, body) as client, pytest.raises(NetworkUnreachable) as raised:
        client.answer(ANSWER)
    assert not isinstance(raised.value, UnknownQuery)


def test_an_unknown_query_is_told_apart() -> None:
    with _answering(404, {"code": "unknown_query", "message": "x"}) as client, pytest.raises(UnknownQuery):
        client.answer(ANSWER)


def test_a_network_that_is_down_is_unreachable_and_its_return_is_seen(tmp_path: Path) -> None:
    running = start(tmp_path)
    config = write_config(tmp_path, running)
    running.stop()
    with HttpNetworkClient.from_config(config, timeout=2.0) as client:
        for step in (
            lambda: client.new_serial(CITY),
            lambda: client.inbox(CITY, 0),
            lambda: client.answer(ANSWER),
        ):
            with pytest.raises(NetworkUnreachable) as raised:
                step()
            assert "ConnectError" in str(raised.value)
        running = restart(running, tmp_path / "info-network")  # the network comes back on the same port
        try:
            assert len(client.new_serial(CITY)) == wire.SERIAL_LENGTH
        finally:
            running.stop()


def test_a_network_of_another_ca_is_unreachable(tmp_path: Path) -> None:
    running = start(tmp_path)
    try:
        other = ensure_pki(tmp_path / "another-ca").folder
        config = tmp_path / "misled.json"
        # the city's own certificate is the other CA's, and it trusts that CA only: both handshakes fail
        config.write_text(json.dumps({"url": running.url, "pki": str(other)}), encoding="utf-8")
        with HttpNetworkClient.from_config(config, timeout=2.0) as client, pytest.raises(NetworkUnreachable):
            client.new_serial(CITY)
    finally:
        running.stop()


def test_the_config_reads_a_pki_folder_relative_to_its_own_folder(tmp_path: Path) -> None:
    path = tmp_path / "demo" / "info-network.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"url": "https://127.0.0.1:9/", "pki": "info-network"}), encoding="utf-8")
    assert NetworkConfig.read(path) == NetworkConfig(
        "https://127.0.0.1:9", tmp_path / "demo" / "info-network"
    )
    path.write_text(json.dumps({"url": "https://127.0.0.1:9"}), encoding="utf-8")
    with pytest.raises(ValueError, match="pki"):
        NetworkConfig.read(path)
