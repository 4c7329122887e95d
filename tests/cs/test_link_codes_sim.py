"""The simulated J-LIS's side of 符号取得 (juki.sim.juki_net.jlis, `POST /jlis/v1/link-code-requests`): the 個人番号
turned into the 住民票コード (a number the prefecture's copy holds, one J-LIS generated, not one changed since nor
another city's), the network asked through `IssueLinkCode` (a fake here; the default link imported lazily), its
answers passed on; over mutual TLS through the CS's client; and end to end: the CS's queue → the simulated J-LIS
→ the simulated 情報提供ネットワークシステム → the 符号 in the city's inbox."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from juki.bootstrap import Juki
from juki.cs.adapters import jlis_tables, link_code_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.adapters.jlis_client import HttpsJlisClient
from juki.cs.jlis_wire import LinkCodeRequestOut, NetworkDown, NotYetKnown, Taken
from juki.cs.services import jlis, link_codes
from juki.cs.services.link_codes import CsLinkCodeRequester
from juki.cs.wire import Accepted, NoticeKind, Refused
from juki.intermediate.adapters.network_client import HttpNetworkClient
from juki.intermediate.wire import LinkCodeIssued, NetworkUnreachable
from juki.sim import info_network
from juki.sim.juki_net import jlis as sim_jlis
from juki.sim.juki_net import start_in_thread
from juki.sim.juki_net.checks import Problem
from juki.sim.juki_net.jlis import Jlis, NetworkRefusal
from juki.sim.juki_net.store import HOLDERS, JukiNetStore
from tests import factories as f
from tests.cs.jlis_support import CITY
from tests.cs.juki_net_support import cs_client, notice, resident_code
from tests.cs.support import CS_OPERATOR
from tests.leakcheck import KNOWN, spellings

K = NoticeKind
SERIAL = "SN0000000000000000A1"


def number(seed: int = 1) -> str:
    return f.generate_my_number(random.Random(seed))  # remembered by the leak check (tests.factories)


@dataclass
class FakeNetwork:
    """The 情報提供ネットワークシステム as J-LIS reaches it: issues (a serial seen before: a repeat), refuses, or is
    down; the calls it got."""

    down: bool = False
    refuse: str | None = None
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, serial: str, city_code: str, resident_code: str) -> bool:
        if self.down:
            raise NetworkUnreachable("down")
        if self.refuse is not None:
            raise NetworkRefusal(self.refuse)
        repeat = any(call[0] == serial for call in self.calls)
        self.calls.append((serial, city_code, resident_code))
        return repeat


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JukiNetStore]:
    kept = JukiNetStore(tmp_path / "juki-net")
    yield kept
    kept.close()


def _ask(j: Jlis, my_number: str, serial: str = SERIAL, city: str = CITY) -> dict[str, Any]:
    return j.link_code({"serial": serial, "city_code": city, "my_number": my_number})


def _problem(j: Jlis, my_number: str, serial: str = SERIAL, city: str = CITY) -> Problem:
    with pytest.raises(Problem) as refused:
        _ask(j, my_number, serial, city)
    return refused.value


def _resident(store: JukiNetStore, seed: int, my_number: str | None, kind: K = K.MOVE_IN) -> str:
    code = resident_code(seed)
    assert store.receive(notice(code, 1, kind, my_number)) is False  # type: ignore[arg-type]
    return code


# --- the 個人番号 turned into the 住民票コード ---------------------------------------------------------------------


def test_a_number_the_prefecture_holds_is_turned_into_its_code_and_the_network_asked_once(store):
    network = FakeNetwork()
    j = Jlis(store, network)
    code = _resident(store, 1, number())
    _resident(store, 2, number(2))
    assert _ask(j, number()) == {"serial": SERIAL, "duplicate": False}
    assert network.calls == [(SERIAL, CITY, code)]
    assert _ask(j, number()) == {
        "serial": SERIAL,
        "duplicate": True,
    }  # a repeat: acknowledged, not asked again
    assert len(network.calls) == 1
    reused = _problem(j, number(2))  # the same serial for another person
    assert (reused.status, reused.code) == (409, "serial_reused")
    assert _ask(j, number(2), "SN0000000000000000B2")["duplicate"] is False
    assert network.calls[-1] == ("SN0000000000000000B2", CITY, resident_code(2))


def test_a_number_j_lis_generated_is_found_before_the_prefecture_holds_it(store):
    network = FakeNetwork()
    j = Jlis(store, network)
    code = _resident(store, 3, None, K.BIRTH)
    j.take_request({"request_id": "N-1", "kind": "生成", "city_code": CITY, "resident_code": code})
    (answer,) = j.answers(CITY, 0)
    generated = answer["my_number"]
    KNOWN.add(generated)
    assert _ask(j, generated)["duplicate"] is False
    assert network.calls == [(SERIAL, CITY, code)]


def test_a_number_nobody_holds_another_citys_or_one_changed_since_is_not_yet_known(store):
    network = FakeNetwork()
    j = Jlis(store, network)
    assert _problem(j, number(4)).code == "not_yet_known"  # nobody
    _resident(store, 5, number(5))
    other_city = _problem(j, number(5), city="131016")
    assert (other_city.status, other_city.code) == (409, "not_yet_known")
    code = _resident(store, 6, number(6))
    assert store.receive(notice(code, 2, K.MY_NUMBER_CHANGED, number(7))) is False
    assert _problem(j, number(6)).code == "not_yet_known"  # the person's number changed since
    assert _ask(j, number(7))["duplicate"] is False
    assert network.calls == [(SERIAL, CITY, code)]


@pytest.mark.parametrize(
    ("body", "item"),
    [({"my_number": "123456789012"}, "個人番号"), ({"my_number": 12}, "個人番号"), ({"my_number": None}, "個人番号"),
     ({"serial": ""}, None), ({"serial": "x" * 41}, None), ({"city_code": "13211"}, "市町村コード")],
)  # fmt: skip
def test_a_malformed_request_is_a_format_error_that_quotes_nothing(store, body, item):
    network = FakeNetwork()
    sent = {"serial": SERIAL, "city_code": CITY, "my_number": number()} | body
    with pytest.raises(Problem) as refused:
        Jlis(store, network).link_code(sent)
    assert (refused.value.status, refused.value.code, refused.value.item) == (422, "format_error", item)
    assert not spellings(refused.value.message) and network.calls == []


def test_without_a_network_or_with_one_down_j_lis_answers_network_unreachable_and_keeps_nothing(store):
    _resident(store, 8, number(8))
    for j in (Jlis(store), Jlis(store, FakeNetwork(down=True))):
        down = _problem(j, number(8))
        assert (down.status, down.code) == (503, "network_unreachable")
    network = FakeNetwork()
    assert _ask(Jlis(store, network), number(8))["duplicate"] is False  # nothing was kept: asked now
    assert len(network.calls) == 1


@pytest.mark.parametrize(
    ("refusal", "status", "code"),
    [("unknown_serial", 422, "unknown_serial"), ("serial_reused", 409, "serial_reused"),
     ("invalid_field", 422, "format_error")],
)  # fmt: skip
def test_the_networks_refusals_are_passed_on_to_the_city(store, refusal, status, code):
    _resident(store, 9, number(9))
    refused = _problem(Jlis(store, FakeNetwork(refuse=refusal)), number(9))
    assert (refused.status, refused.code) == (status, code)
    assert _ask(Jlis(store, FakeNetwork()), number(9))["duplicate"] is False  # a refusal is not kept


def test_a_file_from_before_the_holders_table_is_indexed_once_when_opened(tmp_path):
    folder = tmp_path / "old"
    old = JukiNetStore(folder)
    code = _resident(old, 10, number(10))
    Jlis(old).take_request({"request_id": "N-2", "kind": "生成", "city_code": CITY,
                            "resident_code": _resident(old, 11, None, K.BIRTH)})  # fmt: skip
    (answer,) = Jlis(old).answers(CITY, 0)
    KNOWN.add(answer["my_number"])
    old.close()
    with sqlite3.connect(folder / "juki-net.sqlite3") as db:
        db.execute(f"DROP TABLE {HOLDERS}")
    reopened = JukiNetStore(folder)
    try:
        network = FakeNetwork()
        j = Jlis(reopened, network)
        _ask(j, number(10))
        _ask(j, answer["my_number"], "SN0000000000000000B2")
        assert network.calls == [(SERIAL, CITY, code), ("SN0000000000000000B2", CITY, resident_code(11))]
    finally:
        reopened.close()


# --- the default link to the network (imported when first used) ---------------------------------------------------


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _fake_link(monkeypatch: pytest.MonkeyPatch, issue: Any) -> None:
    module = types.ModuleType(sim_jlis.NETWORK_LINK_MODULE)
    module.issue_link_code = issue  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, sim_jlis.NETWORK_LINK_MODULE, module)


def test_the_default_link_calls_the_network_simulators_function_and_reads_its_answers(tmp_path, monkeypatch):
    config = tmp_path / "info-network.json"
    calls: list[tuple[Any, ...]] = []
    _fake_link(monkeypatch, lambda *args: calls.append(args) or True)
    assert sim_jlis.network_link(config)(SERIAL, CITY, "12345678901") is True
    assert calls == [(config, SERIAL, CITY, "12345678901")]

    def refuse(*args: Any) -> bool:
        raise _Refused("serial_reused")

    _fake_link(monkeypatch, refuse)
    with pytest.raises(NetworkRefusal) as refused:
        sim_jlis.network_link(config)(SERIAL, CITY, "12345678901")
    assert refused.value.code == "serial_reused"

    def broken(*args: Any) -> bool:
        raise RuntimeError("something else")

    _fake_link(monkeypatch, broken)
    with pytest.raises(NetworkUnreachable, match="RuntimeError"):
        sim_jlis.network_link(config)(SERIAL, CITY, "12345678901")


def test_the_default_link_without_the_network_installed_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setattr(sim_jlis, "NETWORK_LINK_MODULE", "juki.sim.no_such_network.jlis_link")
    with pytest.raises(NetworkUnreachable, match="not installed"):
        sim_jlis.network_link(tmp_path / "info-network.json")(SERIAL, CITY, "12345678901")


# --- over mutual TLS, through the CS's client ----------------------------------------------------------------------


def test_the_cs_client_reads_each_answer_over_mutual_tls_and_the_log_quotes_no_number(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="juki.sim.juki_net")
    folder, network = tmp_path / "juki-net", FakeNetwork()
    running = start_in_thread(folder, issue_link_code=network)
    try:
        with cs_client(running.url, folder) as link:
            client = HttpsJlisClient(link)
            code = resident_code(12)
            assert link.send(notice(code, 1, K.MOVE_IN, number(12))) == Accepted(duplicate=False)
            out = LinkCodeRequestOut(SERIAL, CITY, number(12))
            assert client.request_link_code(out) == Taken(duplicate=False)
            assert client.request_link_code(out) == Taken(duplicate=True)
            assert client.request_link_code(LinkCodeRequestOut("S-2", CITY, number(13))) == NotYetKnown()
            bad = client.request_link_code(LinkCodeRequestOut("S-3", CITY, "123456789012"))
            assert isinstance(bad, Refused) and (bad.code, bad.item) == ("format_error", "個人番号")
            network.refuse = "unknown_serial"
            unknown = client.request_link_code(LinkCodeRequestOut("S-4", CITY, number(12)))
            assert isinstance(unknown, Refused) and unknown.code == "unknown_serial"
            network.refuse, network.down = None, True
            assert client.request_link_code(LinkCodeRequestOut("S-5", CITY, number(12))) == NetworkDown()
    finally:
        running.stop()
    assert network.calls == [(SERIAL, CITY, code)]
    assert SERIAL in caplog.text and "not_yet_known" in caplog.text
    assert code not in caplog.text and not spellings(caplog.text)


# --- end to end: the CS, the simulated J-LIS and the simulated network ----------------------------------------------


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[Path, str, Path]]:
    """The network simulator, its `info-network.json`, and the 住基ネット simulator whose J-LIS uses it."""
    network = info_network.start_in_thread(tmp_path / "info-network")
    config = tmp_path / "info-network.json"
    config.write_text(json.dumps({"url": network.url, "pki": "info-network"}), encoding="utf-8")
    juki_net = start_in_thread(tmp_path / "juki-net", info_network=config)
    yield config, juki_net.url, tmp_path / "juki-net"
    juki_net.stop()
    network.stop()


def test_a_request_the_cs_queued_becomes_a_link_code_in_the_citys_inbox(j: Juki, cs: CsDatabase, both):
    config, url, folder = both
    code, my_number = resident_code(14), number(14)
    with HttpNetworkClient.from_config(config) as city:
        serial = city.new_serial(CITY)
        requester = CsLinkCodeRequester(cs.transaction, CITY, link_code_tables.of)
        requester.request(serial, my_number)
        requester.request("SN-never-given-00001", number(15))
        setup = jlis.Setup(
            j.uow, cs.transaction, jlis_tables.of, CITY, 0, 5, link_codes_of=link_code_tables.of
        )
        with cs_client(url, folder) as link:
            report = jlis.JlisReport()
            link_codes.run(setup, HttpsJlisClient(link), report)  # nobody holds the number yet
            assert report.link_codes_waiting == 2 and requester.state(serial) == "queued"
            assert link.send(notice(code, 1, K.MOVE_IN, my_number)) == Accepted(duplicate=False)
            assert link.send(notice(resident_code(15), 1, K.MOVE_IN, number(15))) == Accepted(duplicate=False)
            with cs.engine.begin() as conn:  # the waits are over
                conn.execute(link_code_tables.requests.update().values(next_attempt_at=None))
            report = jlis.JlisReport()
            link_codes.run(setup, HttpsJlisClient(link), report)
        assert (report.link_codes_sent, report.refused, report.unreachable) == (1, 1, False)
        assert requester.state(serial) == "sent" and requester.state("SN-never-given-00001") == "refused"
        messages = city.inbox(CITY, 0)
    issued = [m for m in messages if isinstance(m, LinkCodeIssued)]
    assert [m.serial for m in issued] == [serial] and issued[0].link_code
    (error,) = jlis.status(j.uow, cs.transaction, jlis_tables.of, CS_OPERATOR).errors
    assert (error.subject, error.ref, error.code) == ("link_code", "SN-never-given-00001", "unknown_serial")
