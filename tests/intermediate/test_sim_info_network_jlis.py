"""符号取得 across both simulators, over real mutual TLS: the city takes a serial from the network, its CS sends the
serial and the 個人番号 to the simulated 住基ネット's J-LIS, J-LIS turns the number into the 住民票コード and asks
the network (jlis_link.issue_link_code, J-LIS's certificate) to issue the 符号, which reaches the city's inbox —
and the network's file never holds the 個人番号."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from juki.cs.jlis_wire import LINK_CODES_PATH as JLIS_LINK_CODES_PATH
from juki.cs.wire import NoticeKind
from juki.intermediate.adapters.network_client import HttpNetworkClient
from juki.intermediate.wire import LinkCodeIssued
from juki.sim import juki_net
from juki.sim.info_network import Running
from juki.sim.info_network.store import DB_FILE
from tests.cs.juki_net_support import cs_client, mutual_tls, my_number, notice
from tests.intermediate.info_network_support import CITY, resident_code, start, write_config


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Running]:
    running = start(tmp_path)
    yield running
    running.stop()


def test_j_lis_has_the_network_issue_the_link_code_of_the_number_the_city_sent(
    tmp_path: Path, network: Running
) -> None:
    config = write_config(tmp_path, network)
    folder = tmp_path / "juki-net"
    link = juki_net.start_in_thread(folder, info_network=config)
    try:
        code, number = resident_code(), my_number()
        with cs_client(link.url, folder) as cs:
            cs.send(
                notice(code, 1, NoticeKind.MOVE_IN, number)
            )  # the prefecture and J-LIS now hold the person
        with HttpNetworkClient.from_config(config) as city:
            serial = city.new_serial(CITY)
            request = {"serial": serial, "city_code": CITY, "my_number": number}
            with httpx.Client(base_url=link.url, verify=mutual_tls(folder / "ca.pem", folder)) as cs_link:
                first = cs_link.post(JLIS_LINK_CODES_PATH, json=request)
                again = cs_link.post(JLIS_LINK_CODES_PATH, json=request)
            assert first.status_code == 202, first.text  # jlis_wire: taken
            assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
            (message,) = city.inbox(CITY, 0)
        assert isinstance(message, LinkCodeIssued) and message.serial == serial
    finally:
        link.stop()
    network.stop()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "info-network").glob(DB_FILE + "*"))
    assert (
        number.encode() not in stored and code.encode() in stored
    )  # it knows the 住民票コード, never the number
