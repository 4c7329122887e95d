"""The chain over the wire: the register's changes, taken in by the CS, delivered over mutual TLS to the
simulated prefecture server (juki.sim.juki_net) by the real client — accepted by its checks, held as the CS holds
them; an outage: notices wait and arrive later, in order, none lost, none twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.services import delivery
from juki.services import filings
from juki.sim.juki_net import Running, start_in_thread
from juki.sim.juki_net.server import restart
from tests import factories as f
from tests.cs.juki_net_support import cs_client
from tests.cs.support import CLERK, notices, take_in

LATER = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Running]:
    running = start_in_thread(tmp_path / "juki-net")
    yield running
    running.stop()


def _client(sim: Running, tmp_path: Path) -> HttpsPrefectureClient:
    return cs_client(sim.url, tmp_path / "juki-net", timeout=2.0)


def _family_moving(j) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = f.move_in(f.family_of_four()[:3])
    done = filings.file(j.uow, CLERK, "move-in", body)
    head, wife, son = (c["addressee_number"] for c in done.changes)
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [son], "address": {"address": "東京都小平市学園東町一丁目1番1号"},
        "new_household": True, "householder": son, "new_relationships": {head: "世帯主", wife: "妻", son: "世帯主"},
    })  # fmt: skip
    filings.file(j.uow, CLERK, "death", {"filed_on": "2025-06-24", "died_on": "2025-06-23", "addressee_number": head,
                                         "new_householder": wife, "new_relationships": {wife: "世帯主"}})  # fmt: skip
    return body


def test_the_simulated_prefecture_accepts_every_notice_and_holds_what_the_cs_holds(j, cs, sim, tmp_path):
    body = _family_moving(j)
    take_in(j, cs)
    with _client(sim, tmp_path) as client:
        report = delivery.deliver(cs.transaction, client, "cs-server")
        assert report.refused == [] and report.unreachable == []
        assert {n.state for n in notices(cs)} == {"acknowledged"}
        for person in body["persons"]:
            held = client.identity(person["resident_code"])
            assert held is not None
            latest = max((n for n in notices(cs) if n.resident_code == person["resident_code"]),
                          key=lambda n: n.sequence)  # fmt: skip
            assert held["sequence"] == latest.sequence
            assert held["items"]["個人番号"] == person["my_number"]  # type: ignore[index]
            ours = {k: v for k, v in latest.items.items() if k != "個人番号"}
            assert {k: held["items"][k] for k in ours} == ours  # type: ignore[index]
    son = body["persons"][2]["resident_code"]
    assert [n.kind for n in notices(cs) if n.resident_code == son] == ["転入", "転居", "世帯変更"]


def test_while_the_prefecture_is_down_notices_wait_and_arrive_later_in_order(j, cs, sim, tmp_path):
    body = _family_moving(j)
    take_in(j, cs)
    sim.stop()
    with _client(sim, tmp_path) as client:
        report = delivery.deliver(cs.transaction, client, "cs-server")
    assert report.acknowledged == [] and len(report.unreachable) == 3  # each person's first, the rest wait
    running = restart(sim, tmp_path / "juki-net")
    try:
        with _client(running, tmp_path) as client:
            report = delivery.deliver(cs.transaction, client, "cs-server", now=LATER)
            assert report.refused == [] and {n.state for n in notices(cs)} == {"acknowledged"}
            head = client.identity(body["persons"][0]["resident_code"])
            assert head is not None and head["items"]["異動事由"] == "死亡"  # type: ignore[index]
            assert head["sequence"] == 2
    finally:
        running.stop()
