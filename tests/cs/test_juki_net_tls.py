"""The simulated 住基ネット's mutual TLS (the seed's 相互認証): a peer whose certificate does not verify gets
nothing, both ways — the simulator refuses a client during the handshake, the CS refuses a server."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.wire import Accepted, NoticeKind, Unreachable
from juki.sim.juki_net import Running, start_in_thread
from juki.sim.juki_net.pki import ensure_pki
from tests.cs.juki_net_support import cs_client, mutual_tls, my_number, notice, resident_code
from tests.network_pki_checks import assert_made_once_and_kept

IDENTITY = "/prefecture/v1/identity/"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Running]:
    running = start_in_thread(tmp_path / "juki-net")
    yield running
    running.stop()


def test_the_first_start_makes_the_pki_and_later_starts_keep_it(tmp_path: Path, sim: Running) -> None:
    folder = tmp_path / "juki-net"
    pems = {"ca.pem", "server.pem", "client.pem", "other-city.pem"}
    assert_made_once_and_kept(folder, pems, lambda: ensure_pki(folder))


def test_the_city_and_the_other_city_are_answered_by_ip_and_by_name(tmp_path: Path, sim: Running) -> None:
    folder = tmp_path / "juki-net"
    for stem in ("client", "other-city"):
        context = mutual_tls(folder / "ca.pem", folder, stem)
        for base in (sim.url, sim.url.replace("127.0.0.1", "localhost")):
            with httpx.Client(base_url=base, verify=context) as client:
                assert client.get(IDENTITY + resident_code()).status_code == 404


def test_a_client_without_a_certificate_gets_nothing(tmp_path: Path, sim: Running) -> None:
    context = ssl.create_default_context(cafile=str(tmp_path / "juki-net" / "ca.pem"))
    with httpx.Client(base_url=sim.url, verify=context) as client, pytest.raises(httpx.TransportError):
        client.get(IDENTITY + resident_code())


def test_a_client_of_another_ca_gets_nothing(tmp_path: Path, sim: Running) -> None:
    folder, other = tmp_path / "juki-net", ensure_pki(tmp_path / "another-ca").folder
    context = mutual_tls(folder / "ca.pem", other)  # trusts the server, but its own certificate is foreign
    with httpx.Client(base_url=sim.url, verify=context) as client, pytest.raises(httpx.TransportError):
        client.get(IDENTITY + resident_code())
    foreign = HttpsPrefectureClient.over_mutual_tls(
        sim.url, folder / "ca.pem", other / "client.pem", other / "client.key", timeout=5
    )
    code = resident_code()
    with foreign, pytest.raises(Unreachable):
        foreign.send(notice(code, 1, NoticeKind.MOVE_IN, my_number()))
    with cs_client(sim.url, folder) as cs:
        assert cs.identity(code) is None  # nothing was applied


def test_the_cs_refuses_a_server_that_does_not_chain_to_its_ca(tmp_path: Path, sim: Running) -> None:
    folder, other = tmp_path / "juki-net", ensure_pki(tmp_path / "another-ca").folder
    # the CS's certificate is good, but it trusts another CA: the simulator's certificate does not verify
    misled = HttpsPrefectureClient.over_mutual_tls(
        sim.url, other / "ca.pem", folder / "client.pem", folder / "client.key", timeout=5
    )
    code = resident_code()
    with misled, pytest.raises(Unreachable, match="CERTIFICATE_VERIFY_FAILED"):
        misled.send(notice(code, 1, NoticeKind.MOVE_IN, my_number()))
    with cs_client(sim.url, folder) as cs:
        assert cs.identity(code) is None
        assert cs.send(notice(code, 1, NoticeKind.MOVE_IN, my_number())) == Accepted(duplicate=False)
