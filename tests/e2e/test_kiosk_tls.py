"""証明書コンビニ交付 over real TLS: uvicorn with `CERT_REQUIRED` and the kiosk CA on a local port (a kiosk's
handshake, a client without a kiosk certificate, an unregistered kiosk), and behind a TLS terminator that forwards
the client certificate (nginx's `X-SSL-Client-Cert`), trusted only from the configured proxies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from juki.adapters.kiosk_tls import (
    BackgroundServer,
    WithClientCertificate,
    kiosk_client_context,
    server_config,
)
from juki.bootstrap import build
from juki.sim.kiosk import session_request
from juki.sim.pki import SimCard
from juki.web.app import create_app
from tests.conftest import TODAY
from tests.e2e import kiosk_world
from tests.e2e.kiosk_world import (
    World,
    code,
)

pki, world = kiosk_world.pki, kiosk_world.world  # the kiosk tests' fixtures: their PKI, register and kiosks

# --- over real TLS -----------------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(world: World) -> Iterator[str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = server_config(world.app, world.pki.folder, port=port, log_level="warning")
    with BackgroundServer(config):
        yield f"https://127.0.0.1:{port}"


def _tls_client(world: World, url: str, kiosk_id: str | None) -> httpx.Client:
    certificate = key = None
    if kiosk_id is not None:
        certificate, key, _ = world.pki.kiosks[kiosk_id]
    return httpx.Client(
        base_url=url, verify=kiosk_client_context(world.pki.folder, certificate, key), timeout=30
    )


def _card_to_certificate(client: httpx.Client, card: SimCard) -> None:
    """The whole kiosk flow over a real TLS client: status, challenge, the card's signature, a 住民票の写し."""
    assert client.get("/kiosk/v1/status").json()["kiosk_id"] == "kiosk-a"
    challenge = client.post("/kiosk/v1/challenges").json()
    res = client.post("/kiosk/v1/sessions", json=session_request(challenge, card))
    assert res.status_code == 201, res.text
    res = client.post(
        "/kiosk/v1/certificates", json={"scope": "self"}, headers={"X-Kiosk-Session": res.json()["session"]}
    )
    assert res.status_code == 201 and res.content.startswith(b"%PDF")


def test_over_mutual_tls_a_kiosk_gets_a_certificate(world, tls_server):
    with _tls_client(world, tls_server, "kiosk-a") as client:
        _card_to_certificate(client, world.cards["wife"])
    assert world.log(action="kiosk:issue")[-1].terminal == "kiosk-a"


@pytest.mark.parametrize("kiosk_id", [None, "rogue"])
def test_over_mutual_tls_a_client_without_a_kiosk_certificate_gets_no_connection(world, tls_server, kiosk_id):
    with _tls_client(world, tls_server, kiosk_id) as client, pytest.raises(httpx.HTTPError):
        client.get("/kiosk/v1/status")
    assert world.log(action="kiosk:connect") == []  # refused by the handshake, before the app


def test_over_mutual_tls_an_unregistered_kiosk_is_refused_by_the_app(world, tls_server):
    with _tls_client(world, tls_server, "kiosk-unregistered") as client:
        res = client.post("/kiosk/v1/challenges")
    assert res.status_code == 401
    assert world.log(action="kiosk:connect")[-1].detail.startswith("reason=unregistered")


# --- behind a TLS terminator (nginx forwarding the client certificate) ------------------------------------------

PROXY = "10.0.0.2"  # the TLS terminator's address, as the app sees the TCP peer


def escaped(certificate: str) -> str:
    """nginx's `$ssl_client_escaped_cert`: the PEM, URL-encoded."""
    return quote(certificate, safe="")


def behind_proxy(world: World, trusted: str, peer: str = PROXY) -> TestClient:
    """A client of an app whose settings trust `trusted` as TLS terminators, connecting from `peer`."""
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies=trusted)
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    return TestClient(app, raise_server_exceptions=False, client=(peer, 50000))


def test_by_default_no_proxy_is_trusted_and_the_header_is_refused_and_logged(world):
    assert world.j.settings.trusted_proxy_networks() == ()
    client = TestClient(world.app, raise_server_exceptions=False, client=(PROXY, 50000))
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.status_code == 401 and res.json()["errors"][0]["field"] == "client_certificate"
    [entry] = world.log(action="kiosk:connect")
    assert (entry.result, entry.detail, entry.terminal) == ("denied", "reason=untrusted_proxy_header", PROXY)
    assert not world.log(action="kiosk:challenge")


def test_the_certificate_a_trusted_proxy_forwards_identifies_the_kiosk(world):
    client = behind_proxy(world, f"192.0.2.7, {PROXY.rsplit('.', 1)[0]}.0/29")
    card = world.cards["wife"]
    header = {"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-b"][2])}
    assert client.get("/kiosk/v1/status", headers=header).json()["kiosk_id"] == "kiosk-b"
    challenge = client.post("/kiosk/v1/challenges", headers=header).json()
    res = client.post("/kiosk/v1/sessions", json=session_request(challenge, card), headers=header)
    assert res.status_code == 201, res.text
    assert [e.terminal for e in world.log(action="kiosk:card_auth")] == ["kiosk-b"]


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [
        ("10.0.0.9", "10.0.0.2"),  # a neighbour of the proxy
        ("192.0.2.1", "10.0.0.0/8"),
        ("testclient", "10.0.0.0/8"),  # not an address at all
    ],
)
def test_the_same_header_from_a_peer_that_is_not_a_trusted_proxy_is_refused(world, peer, trusted):
    client = behind_proxy(world, trusted, peer)
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.status_code == 401 and code(res) == "unauthenticated"
    assert world.log(action="kiosk:connect")[-1].detail == "reason=untrusted_proxy_header"
    assert not world.log(action="kiosk:challenge")


def test_from_an_untrusted_peer_the_header_is_ignored_beside_the_connections_own_certificate(world):
    app = WithClientCertificate(world.app, world.pki.kiosks["kiosk-b"][2], None, None)
    client = TestClient(app, raise_server_exceptions=False, client=(PROXY, 50000))
    res = client.get(
        "/kiosk/v1/status", headers={"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    )
    assert res.json()["kiosk_id"] == "kiosk-b"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not a certificate", "malformed_header"),
        (
            "%ZZ%-----BEGIN CERTIFICATE-----",
            "malformed",
        ),  # stray % are kept as they are: then not a certificate
        ("%FF%FE-----BEGIN CERTIFICATE-----", "malformed_header"),  # not UTF-8
        (quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", safe=""), "malformed"),
        ("-----BEGIN CERTIFICATE-----" + "A" * 30_000, "malformed_header"),  # too long
        ("", "no_client_certificate"),  # nginx with ssl_verify_client optional, and no certificate
        ("rogue", "untrusted"),  # the checks of a direct connection apply unchanged
        ("kiosk-unregistered", "unregistered"),
    ],
)
def test_a_bad_header_from_a_trusted_proxy_is_refused_cleanly(world, value, reason):
    client = behind_proxy(world, PROXY)
    if value in world.pki.kiosks:
        value = escaped(world.pki.kiosks[value][2])
    res = client.post(
        "/kiosk/v1/challenges", headers={"X-SSL-Client-Cert": value, "X-Real-IP": "203.0.113.5"}
    )
    assert res.status_code == 401 and code(res) == "unauthenticated", res.text
    entry = world.log(action="kiosk:connect")[-1]
    assert entry.detail.startswith(f"reason={reason}") and entry.detail.endswith("via=proxy")
    assert entry.terminal == f"203.0.113.5 via {PROXY}"  # the kiosk's address as the proxy saw it
    assert not world.log(action="kiosk:challenge")


def test_two_certificate_headers_are_refused(world):
    client = behind_proxy(world, PROXY)
    pem_a = escaped(world.pki.kiosks["kiosk-a"][2])
    res = client.post(
        "/kiosk/v1/challenges", headers=[("X-SSL-Client-Cert", pem_a), ("X-SSL-Client-Cert", pem_a)]
    )
    assert res.status_code == 401
    assert world.log(action="kiosk:connect")[-1].detail == "reason=malformed_header via=proxy"


def test_trusted_proxies_must_be_addresses_or_networks(db_url):
    with pytest.raises(ValueError, match="JUKI_TRUSTED_PROXIES"):
        build(db_url, run_migrations=False, trusted_proxies="10.0.0.2, nginx.internal")
    j = build(db_url, run_migrations=False, trusted_proxies=" 10.0.0.2 ,fd00::/8,")
    assert [str(n) for n in j.settings.trusted_proxy_networks()] == ["10.0.0.2/32", "fd00::/8"]
    j.engine.dispose()


class Terminator:
    """A TLS terminator as nginx is configured for the kiosk API (docs): it requires the kiosk CA's client
    certificate at the handshake (it is served by `server_config`, CERT_REQUIRED) and forwards each request over
    plain HTTP with `X-SSL-Client-Cert: $ssl_client_escaped_cert` and `X-Real-IP: $remote_addr`, replacing any
    such header the client sent."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        tls = (scope.get("extensions") or {}).get("tls") or {}
        certificate = (tls.get("client_cert_chain") or [""])[0]
        skip = {b"host", b"content-length", b"connection", b"x-ssl-client-cert", b"x-real-ip"}
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k.lower() not in skip
        ]
        headers += [("X-SSL-Client-Cert", escaped(certificate)), ("X-Real-IP", scope["client"][0])]
        url = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        async with httpx.AsyncClient(base_url=self.upstream) as upstream:
            res = await upstream.request(scope["method"], url, headers=headers, content=body)
        hop = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        out = [(k.encode(), v.encode()) for k, v in res.headers.items() if k.lower() not in hop]
        out.append((b"content-length", str(len(res.content)).encode()))
        await send({"type": "http.response.start", "status": res.status_code, "headers": out})
        await send({"type": "http.response.body", "body": res.content})


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def terminated(world: World) -> Iterator[tuple[str, str]]:
    """The kiosk API behind a TLS terminator: the app over plain HTTP on 127.0.0.1 (trusting 127.0.0.1 as its
    proxy, without uvicorn's proxy headers), and the terminator over mutual TLS in front of it. Yields (the
    terminator's https URL, the app's http URL)."""
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies="127.0.0.1")
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    app_port, tls_port = _port(), _port()
    plain = uvicorn.Config(app, host="127.0.0.1", port=app_port, log_level="warning", proxy_headers=False)
    upstream = f"http://127.0.0.1:{app_port}"
    front = server_config(
        Terminator(upstream), world.pki.folder, port=tls_port, log_level="warning", lifespan="off"
    )
    with BackgroundServer(plain), BackgroundServer(front):
        yield f"https://127.0.0.1:{tls_port}", upstream
    j.engine.dispose()


def test_behind_a_tls_terminator_a_kiosk_gets_a_certificate_end_to_end(world, terminated):
    front, _ = terminated
    with _tls_client(world, front, "kiosk-a") as client:
        _card_to_certificate(client, world.cards["householder"])
    assert [(e.terminal, e.result) for e in world.log(action="kiosk:issue")] == [("kiosk-a", "ok")]


def test_behind_a_tls_terminator_an_unregistered_kiosk_is_refused_by_the_app(world, terminated):
    front, _ = terminated
    with _tls_client(world, front, "kiosk-unregistered") as client:
        assert client.post("/kiosk/v1/challenges").status_code == 401
    entry = world.log(action="kiosk:connect")[-1]
    assert entry.detail == "reason=unregistered kiosk=kiosk-unregistered via=proxy"
    assert entry.terminal == "127.0.0.1 via 127.0.0.1"


def test_the_apps_own_port_does_not_take_the_header_from_anyone_but_the_proxy(world, terminated, tmp_path):
    """The same header sent straight to the app from a peer that is not the trusted proxy is refused: here the app
    trusts 127.0.0.1 only, so a second app trusting another address stands for 'anyone else'."""
    _, upstream = terminated
    header = {"X-SSL-Client-Cert": escaped(world.pki.kiosks["kiosk-a"][2])}
    with httpx.Client(base_url=upstream) as direct:  # from 127.0.0.1: the trusted proxy's address — accepted
        assert direct.get("/kiosk/v1/status", headers=header).json()["kiosk_id"] == "kiosk-a"
    j = build(world.j.settings.database_url, run_migrations=False, today=TODAY, trusted_proxies="192.0.2.10")
    app = create_app(j)
    app.state.kiosk_desk = world.app.state.kiosk_desk
    port = _port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    with BackgroundServer(config), httpx.Client(base_url=f"http://127.0.0.1:{port}") as other:
        spoofed = {**header, "X-Forwarded-For": "192.0.2.10", "X-Real-IP": "192.0.2.10"}
        res = other.get("/kiosk/v1/status", headers=spoofed)
    assert res.status_code == 401
    entry = world.log(action="kiosk:connect")[-1]
    assert (entry.detail, entry.terminal) == ("reason=untrusted_proxy_header", "127.0.0.1")
    j.engine.dispose()
