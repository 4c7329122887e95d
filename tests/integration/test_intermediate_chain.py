"""The 中間サーバー end to end, wired as `juki demo` wires it (docs/intermediate-server.md), on SQLite and
PostgreSQL: the register, its CS and the simulated 住基ネット (J-LIS), the city's 中間サーバー and the simulated
情報提供ネットワークシステム, each link over real mutual TLS. A move-in gets its 統合宛名番号 and, through the CS and
J-LIS, its 符号; a permitted body's 照会 is answered with the 住民票関係情報 and no My Number; a body not on the
照会許可照合リスト is refused; a protected person's answer waits for a supervisor and reaches the requester only
once released; the network down, the 符号 waits and arrives once it is back."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from juki.bootstrap import Juki
from juki.cs.services.delivery import Backoff
from juki.intermediate import wire
from juki.intermediate.services import link_codes, staff
from juki.services import filings, my_usage, protection
from juki.sim import info_network
from juki.sim import juki_net as juki_net_sim
from juki.sim.info_network.query import Ask, deliveries, send_query
from tests import factories as f
from tests.intermediate.support import CLERK, KYOKAI, PROTECTOR, REVIEWER
from tests.leakcheck import spellings

NO_WAIT = Backoff(first=timedelta(0))


@dataclasses.dataclass
class Chain:
    j: Juki
    network: info_network.Running
    network_data: Path
    network_config: Path
    juki_net: juki_net_sim.Running

    def passes(self, until: Any, tries: int = 20) -> None:
        """The CS's and the 中間サーバー's passes, one after the other, until `until()` holds."""
        cs, ims = self.j.cs_relay(NO_WAIT), self.j.intermediate_relay()
        for _ in range(tries):
            ims.run_once()
            cs.run_once()
            ims.run_once()
            if until():
                return
            time.sleep(0.05)
        raise AssertionError("the chain did not get there")

    def state(self, addressee_number: str) -> dict[str, Any]:
        return staff.person_state(self.j.intermediate.transaction, REVIEWER, addressee_number)

    def ask(self, resident_code: str, requester: str = KYOKAI[0], basis: str = KYOKAI[1]) -> wire.QueryAnswer:
        """A 照会 through the network, with the 中間サーバー's relay running as under `juki demo`."""
        relay = self.j.intermediate_relay()
        relay.start(0.2, wait=0.2)  # a short long poll: stopping waits for the read under way
        try:
            return send_query(self.network_config, Ask(requester, basis, resident_code=resident_code))
        finally:
            relay.stop(timeout=5)


@pytest.fixture
def chain(j: Juki, tmp_path: Path) -> Iterator[Chain]:
    network_data = tmp_path / "info-network"
    network = info_network.start_in_thread(network_data, answer_timeout=10)
    network_config = tmp_path / "info-network.json"
    network_config.write_text(json.dumps({"url": network.url, "pki": "info-network"}), encoding="utf-8")
    sim = juki_net_sim.start_in_thread(tmp_path / "juki-net", info_network=network_config)
    juki_net_config = tmp_path / "juki-net.json"
    juki_net_config.write_text(json.dumps({"url": sim.url, "pki": "juki-net"}), encoding="utf-8")
    settings = j.settings.model_copy(
        update={
            "juki_net_config": str(juki_net_config),
            "info_network_config": str(network_config),
            "cs_key_file": str(tmp_path / "juki-cs-keys.json"),
            "ims_key_file": str(tmp_path / "juki-ims-keys.json"),
        }
    )
    world = Chain(dataclasses.replace(j, settings=settings, migrate_cs=True), network, network_data,
                  network_config, sim)  # fmt: skip
    try:
        yield world
    finally:
        world.juki_net.stop()
        world.network.stop()
        world.j.cs.dispose()
        world.j.intermediate.dispose()


def _move_in(j: Juki) -> tuple[list[str], list[dict[str, Any]]]:
    persons = f.family_of_four()[:2]
    done = filings.file(j.uow, CLERK, "move-in", f.move_in(persons))
    return [str(c["addressee_number"]) for c in done.changes], persons


def _resident_code(j: Juki, addressee_number: str) -> str:
    with j.uow() as uow:
        state = uow.reader.resident(addressee_number)
        assert state is not None and state.record.resident_code is not None
        return state.record.resident_code


def _issued(chain: Chain, *people: str) -> bool:
    return all(chain.state(p)["link_code_state"] == link_codes.ISSUED for p in people)


def test_a_move_in_gets_its_link_codes_and_a_permitted_body_its_answer_without_a_my_number(chain: Chain):
    people, persons = _move_in(chain.j)
    chain.passes(lambda: _issued(chain, *people))
    householder, wife = (_resident_code(chain.j, p) for p in people)
    answer = chain.ask(wife)
    assert answer.status == wire.ANSWERED
    assert answer.data == {"世帯主該当": "0", "世帯主氏名": "山田\u3000太郎", "世帯主との続柄": "妻"}
    assert chain.ask(householder).data == {"世帯主該当": "1", "世帯主氏名": None, "世帯主との続柄": None}
    sent = json.dumps(answer.to_json(), ensure_ascii=False)
    assert not any(s in sent for p in persons for s in spellings(p["my_number"]))
    # The network never learns a My Number: its whole store holds none.
    stored = b"".join(p.read_bytes() for p in chain.network_data.rglob("*") if p.is_file()).decode("latin-1")
    assert not any(s.encode().decode("latin-1") in stored for p in persons for s in spellings(p["my_number"]))


def test_a_body_not_on_the_list_is_refused_and_an_unknown_code_has_no_link_code(chain: Chain):
    people, _ = _move_in(chain.j)
    chain.passes(lambda: _issued(chain, *people))
    code = _resident_code(chain.j, people[0])
    refused = chain.ask(code, "株式会社どこか", KYOKAI[1])
    assert (refused.status, refused.data, refused.message) == (wire.REFUSED, None, wire.NOT_PERMITTED)
    wrong_row = chain.ask(code, KYOKAI[0], "番号法第19条第8号別表第2の1の項")  # the body, another row's basis
    assert wrong_row.status == wire.REFUSED
    assert chain.ask("12345678901").status == wire.NO_LINK_CODE


def test_a_protected_persons_answer_waits_for_a_supervisor_and_reaches_the_body_once_released(chain: Chain):
    people, _ = _move_in(chain.j)
    chain.passes(lambda: _issued(chain, *people))
    protection.set_measure(chain.j.uow, PROTECTOR, f.support_measure(people[1]))
    chain.j.intermediate_relay().run_once()  # the measure reaches the 中間サーバー
    held = chain.ask(_resident_code(chain.j, people[1]))
    assert (held.status, held.data) == (wire.PENDING, None)
    (entry,) = staff.review_queue(chain.j.intermediate.transaction, REVIEWER)
    assert deliveries(chain.network_config, held.query_id) == []
    staff.release(chain.j.intermediate.transaction, REVIEWER, entry["id"])
    assert chain.j.intermediate_relay().send_answers() == 1
    (delivered,) = deliveries(chain.network_config, held.query_id)
    assert delivered["status"] == wire.ANSWERED and delivered["data"]["世帯主との続柄"] == "妻"


def test_with_the_network_down_the_link_code_waits_and_arrives_once_it_is_back(chain: Chain):
    chain.network.stop()
    people, _ = _move_in(chain.j)
    cs, ims = chain.j.cs_relay(NO_WAIT), chain.j.intermediate_relay()
    assert ims.run_once().network_down
    cs.run_once()
    assert not _issued(chain, *people)
    chain.network = info_network.restart(chain.network, chain.network_data)
    chain.passes(lambda: _issued(chain, *people))


def test_the_resident_sees_the_provision_of_their_data_and_not_the_refused_query(chain: Chain):
    people, _ = _move_in(chain.j)
    chain.passes(lambda: _issued(chain, *people))
    code = _resident_code(chain.j, people[1])
    assert chain.ask(code).status == wire.ANSWERED
    assert chain.ask(code, "株式会社どこか", KYOKAI[1]).status == wire.REFUSED
    me = my_usage.resident_actor(people[1], "test")
    entries = my_usage.usage(chain.j.uow, me, chain.j.provision_records)["entries"]
    provisions = [e for e in entries if e["kind"] == "provision"]
    assert [(e["counterpart"], e["legal_basis"], e["procedure"]) for e in provisions] == [
        (KYOKAI[0], KYOKAI[1], "健康保険法による保険給付の支給に関する事務")
    ]
    assert provisions[0]["items"] == ["世帯主該当", "世帯主氏名", "世帯主との続柄"]


def test_juki_intermediate_verify_proves_the_provision_log(chain: Chain, monkeypatch: pytest.MonkeyPatch):
    from typer.testing import CliRunner

    from juki.cli.main import app

    people, _ = _move_in(chain.j)
    chain.passes(lambda: _issued(chain, *people))
    chain.ask(_resident_code(chain.j, people[0]))
    monkeypatch.setenv("JUKI_IMS_KEY_FILE", str(chain.j.settings.ims_key_file))
    if chain.j.intermediate.url != chain.j.settings.database_url:
        monkeypatch.setenv("JUKI_IMS_DATABASE_URL", chain.j.intermediate.url)
    result = CliRunner().invoke(app, ["intermediate", "verify", "--db", chain.j.settings.database_url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "ok": True,
        "entries": 2,
        "first_broken": None,
    }  # the 照会 and its answer
