"""The CS's client reads the prefecture's answers strictly: the wire's answers map to Accepted / Refused, anything
else — another status, a body that is not the answer, a timeout, a closed port — is Unreachable, whose message never
holds an item's value. And `juki-net.json` says where the prefecture is."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient, JukiNetConfig, client_from_config
from juki.cs.wire import Accepted, NoticeKind, Refused, Unreachable
from juki.sim.juki_net.pki import ensure_pki
from tests.cs.juki_net_support import NAME, my_number, notice, resident_code

CODE, NUMBER = resident_code(), my_number()
NOTICE = notice(CODE, 1, NoticeKind.MOVE_IN, NUMBER)


def _client(answer: Callable[[httpx.Request], httpx.Response]) -> HttpsPrefectureClient:
    return HttpsPrefectureClient(
        "https://prefecture.test", httpx.Client(transport=httpx.MockTransport(answer))
    )


def _answer(status: int, body: object = None, content: bytes | None = None) -> HttpsPrefectureClient:
    if content is not None:
        return _client(lambda _: httpx.Response(status, content=content))
    return _client(lambda _: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (_answer(200, {"resident_code": CODE, "sequence": 1, "duplicate": False}), Accepted(False)),
        (_answer(200, {"resident_code": CODE, "sequence": 1, "duplicate": True}), Accepted(True)),
        (
            _answer(409, {"code": "out_of_order", "expected": 1, "message": "順番が違います"}),
            Refused("out_of_order", None, "順番が違います (expected 1)"),
        ),
        (_answer(409, {"code": "sequence_reused", "message": "m"}), Refused("sequence_reused", None, "m")),
        (
            _answer(422, {"code": "format_error", "item": "性別", "message": "m"}),
            Refused("format_error", "性別", "m"),
        ),
        (
            _answer(422, {"code": "unknown_resident_code", "item": "住民票コード", "message": "m"}),
            Refused("unknown_resident_code", "住民票コード", "m"),
        ),
    ],
)
def test_the_wire_answers(client: HttpsPrefectureClient, expected: Accepted | Refused) -> None:
    with client:
        assert client.send(NOTICE) == expected


def _fails(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


@pytest.mark.parametrize(
    "client",
    [
        _answer(500, {"code": "internal"}),
        _answer(503, content=b""),
        _answer(401, {"code": "unauthenticated", "message": "m"}),
        _answer(200, content=b"<html>proxy error</html>"),
        _answer(200, [1, 2]),
        _answer(200, {"resident_code": CODE, "sequence": 2, "duplicate": False}),  # another notice's
        _answer(200, {"resident_code": resident_code(3), "sequence": 1, "duplicate": False}),
        _answer(200, {"resident_code": CODE, "sequence": 1}),
        _answer(409, {"code": "conflict", "message": "m"}),
        _answer(422, {"code": "format_error", "item": 3, "message": "m"}),
        _answer(422, {"detail": [{"loc": ["body"], "msg": NAME}]}),  # a framework's 422, not the wire's
        _client(_fails(httpx.ReadTimeout("timed out"))),
        _client(_fails(httpx.ConnectError("[Errno 111] Connection refused"))),
        _client(_fails(httpx.RemoteProtocolError("Server disconnected without sending a response."))),
    ],
)
def test_anything_else_is_unreachable_and_names_no_value(client: HttpsPrefectureClient) -> None:
    with client, pytest.raises(Unreachable) as caught:
        client.send(NOTICE)
    for value in (CODE, NUMBER, "山田"):
        assert value not in str(caught.value)


def test_identity_answers() -> None:
    held = {"resident_code": CODE, "sequence": 1, "items": {"住民票コード": CODE}}
    with _answer(200, held) as client:
        assert client.identity(CODE) == held
    with _answer(404, {"code": "not_found"}) as client:
        assert client.identity(CODE) is None
    for broken in (_answer(502, {}), _answer(200, {"resident_code": resident_code(4), "items": {}})):
        with broken, pytest.raises(Unreachable):
            broken.identity(CODE)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung peer)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_peer_that_never_answers_times_out(tmp_path: Path, silent_port: int) -> None:
    pki = ensure_pki(tmp_path / "pki").folder
    client = HttpsPrefectureClient.over_mutual_tls(
        f"https://127.0.0.1:{silent_port}",
        pki / "ca.pem",
        pki / "client.pem",
        pki / "client.key",
        timeout=0.3,
    )
    with client, pytest.raises(Unreachable, match="in time"):
        client.send(NOTICE)


def test_juki_net_json(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path / "juki-net").folder
    relative = tmp_path / "juki-net.json"
    relative.write_text(json.dumps({"url": "https://127.0.0.1:1", "pki": "juki-net"}), encoding="utf-8")
    assert JukiNetConfig.read(relative) == JukiNetConfig("https://127.0.0.1:1", pki)
    absolute = tmp_path / "elsewhere" / "juki-net.json"
    absolute.parent.mkdir()
    absolute.write_text(json.dumps({"url": "https://127.0.0.1:1", "pki": str(pki)}), encoding="utf-8")
    assert JukiNetConfig.read(absolute).pki == pki
    with client_from_config(relative) as client:
        assert client.url == "https://127.0.0.1:1"
        with pytest.raises(Unreachable):  # nobody listens on port 1
            client.send(NOTICE)
    relative.write_text(json.dumps({"url": "https://127.0.0.1:1"}), encoding="utf-8")
    with pytest.raises(ValueError, match="pki"):
        JukiNetConfig.read(relative)
