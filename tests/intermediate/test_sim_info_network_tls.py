"""The simulated 情報提供ネットワークシステム's mutual TLS: a peer without a certificate of the network's CA gets
nothing (refused in the handshake), and each endpoint serves only its kind of caller, told by the certificate's
common name (juki.intermediate.wire): any other is refused 403 not_allowed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from juki.intermediate import wire
from juki.sim.info_network import Running
from juki.sim.info_network.pki import city_common_name, ensure_pair, ensure_pki
from juki.sim.juki_net.pki import ensure_pki as juki_net_pki
from tests.intermediate.info_network_support import BASIS, CITY, REQUESTER, caller, resident_code, start, tls
from tests.network_pki_checks import assert_made_once_and_kept


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Running]:
    running = start(tmp_path, answer_timeout=0.5)
    yield running
    running.stop()


def _cn(path: Path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_the_first_start_makes_the_pki_with_one_certificate_per_caller_and_later_starts_keep_it(
    tmp_path: Path, sim: Running
) -> None:
    folder = tmp_path / "info-network"
    pems = {"ca.pem", "server.pem", "city.pem", "jlis.pem", "client.pem"}
    assert_made_once_and_kept(folder, pems, lambda: ensure_pki(folder))
    assert _cn(folder / "city.pem") == "中間サーバー 132110"
    assert _cn(folder / "jlis.pem") == "J-LIS"
    assert _cn(folder / "client.pem") == "照会機関"


def test_the_network_ca_is_not_the_juki_nets(tmp_path: Path) -> None:
    ours, theirs = ensure_pki(tmp_path / "net").ca, juki_net_pki(tmp_path / "juki-net").ca
    assert ours.read_bytes() != theirs.read_bytes()
    assert "情報提供ネットワークシステム" in _cn(ours)


def test_the_city_code_of_the_certificate_is_configurable(tmp_path: Path) -> None:
    assert _cn(ensure_pki(tmp_path / "net", "132012").cert("city")) == "中間サーバー 132012"


def test_a_client_without_a_certificate_gets_nothing(tmp_path: Path, sim: Running) -> None:
    folder = tmp_path / "info-network"
    with (
        httpx.Client(base_url=sim.url, verify=tls(folder, None)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.post(wire.SERIALS_PATH, json={"city_code": CITY})


def test_a_client_of_another_ca_gets_nothing(tmp_path: Path, sim: Running) -> None:
    folder, other = tmp_path / "info-network", ensure_pki(tmp_path / "another-ca").folder
    for foreign in (
        other,
        juki_net_pki(tmp_path / "juki-net").folder,
    ):  # the 住基ネット's CA is another CA too
        stem = "city" if foreign == other else "client"
        context = tls(
            foreign, stem, ca=folder / "ca.pem"
        )  # trusts the server; its own certificate is foreign
        with httpx.Client(base_url=sim.url, verify=context) as client, pytest.raises(httpx.TransportError):
            client.post(wire.SERIALS_PATH, json={"city_code": CITY})


def test_a_city_refuses_a_network_that_does_not_chain_to_its_ca(tmp_path: Path, sim: Running) -> None:
    folder, other = tmp_path / "info-network", ensure_pki(tmp_path / "another-ca").folder
    context = tls(folder, "city", ca=other / "ca.pem")
    with httpx.Client(base_url=sim.url, verify=context) as client, pytest.raises(httpx.ConnectError):
        client.post(wire.SERIALS_PATH, json={"city_code": CITY})


CALLS = {
    "serials": ("POST", wire.SERIALS_PATH, {"json": {"city_code": CITY}}),
    "link-codes": (
        "POST",
        wire.LINK_CODES_PATH,
        {"json": {"serial": "A" * 20, "city_code": CITY, "resident_code": resident_code()}},
    ),
    "inbox": ("GET", wire.INBOX_PATH, {"params": {"city_code": CITY, "after": "0"}}),
    "answers": (
        "POST",
        wire.ANSWERS_PATH,
        {"json": {"query_id": "q-1", "status": "refused", "data": None, "message": wire.NOT_PERMITTED}},
    ),
    "queries": (
        "POST",
        wire.QUERIES_PATH,
        {
            "json": {
                "requester": REQUESTER,
                "legal_basis": BASIS,
                "information": "住民票関係情報",
                "items": None,
                "resident_code": resident_code(),
            }
        },
    ),
    "deliveries": ("GET", wire.DELIVERIES_PATH, {"params": {"query_id": "q-1"}}),
}
# Which certificate each endpoint serves ("other-city": 中間サーバー of another city, for the city's endpoints).
ALLOWED = {
    "serials": "city",
    "link-codes": "jlis",
    "inbox": "city",
    "answers": "city",
    "queries": "client",
    "deliveries": "client",
}
CITY_ENDPOINTS = {"serials", "inbox"}  # the city code is in the request: another city is refused too


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_each_endpoint_serves_only_its_kind_of_caller(tmp_path: Path, sim: Running, endpoint: str) -> None:
    folder = tmp_path / "info-network"
    ensure_pair(folder, "other-city", city_common_name("132012"))
    method, path, kwargs = CALLS[endpoint]
    refused = {"city", "jlis", "client"} - {ALLOWED[endpoint]}
    if endpoint in CITY_ENDPOINTS:
        refused.add("other-city")
    for stem in sorted(refused):
        with caller(sim, folder, stem) as client:
            res = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert res.status_code == 403, (endpoint, stem)
        assert res.json()["code"] == "not_allowed"
    with caller(sim, folder, ALLOWED[endpoint]) as client:
        res = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert res.status_code != 403, endpoint  # the right caller gets the endpoint's own answer


def test_a_city_answers_only_its_own_queries(tmp_path: Path, sim: Running) -> None:
    folder = tmp_path / "info-network"
    ensure_pair(folder, "other-city", city_common_name("132012"))
    with caller(sim, folder, "client") as requester:
        sent = requester.post(
            wire.QUERIES_PATH,
            json={"query_id": "q-own", "requester": REQUESTER, "legal_basis": BASIS,
                  "information": "住民票関係情報", "items": None, "link_code": "X" * 24},
        )  # fmt: skip
    assert sent.status_code == 504  # nobody answered; the query went to 132110's inbox
    answer = {"query_id": "q-own", "status": "refused", "data": None, "message": wire.NOT_PERMITTED}
    with caller(sim, folder, "other-city") as other:
        res = other.post(wire.ANSWERS_PATH, json=answer)
    assert res.status_code == 404 and res.json()["code"] == "unknown_query"
