"""The CS wired to the running system (bootstrap's `Juki.cs` and `Juki.cs_relay()`, `juki cs`, `juki sim
juki-net`), against the simulated 住基ネット over mutual TLS, on SQLite and PostgreSQL: a move-in at the counter
reaches the prefecture with its 異動事由 and 更新順番号; with the prefecture down a filing still commits and its
notice waits; back up, it arrives, in order, once."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from juki.bootstrap import Juki
from juki.cli.main import app
from juki.cs.services.delivery import Backoff
from juki.cs.wire import Accepted, Notice, NoticeKind
from juki.services import filings
from tests import factories as f
from tests.cs.support import CLERK, notices
from tests.factories import generate_my_number
from tests.integration.juki_net_link import Wired, linked, run_cli

runner = CliRunner()
NO_WAIT = Backoff(first=timedelta(0))  # the test restarts the prefecture itself: retry at the next pass


@pytest.fixture
def wired(j: Juki, tmp_path: Path) -> Iterator[Wired]:
    with linked(j, tmp_path) as world:
        yield world


def _move_in(j: Juki) -> dict[str, Any]:
    body = f.move_in([f.person()])
    filings.file(j.uow, CLERK, "move-in", body)
    return body["persons"][0]  # type: ignore[no-any-return]


def _move_within(j: Juki, moved: Any, day: str, address: str) -> None:
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": day, "changed_on": day, "household_number": moved.household_number,
        "addressee_numbers": [c["addressee_number"] for c in moved.changes], "address": {"address": address},
    })  # fmt: skip


def test_a_move_in_reaches_the_prefecture_with_its_reason_and_sequence(wired):
    person = _move_in(wired.j)
    done = wired.j.cs_relay().run_once()
    assert (done.taken, done.acknowledged, done.refused, done.unreachable) == (1, 1, 0, 0)
    held = wired.identity(person["resident_code"])
    assert held is not None and held["sequence"] == 1
    assert held["items"]["異動事由"] == "転入" and held["items"]["更新順番号"] == "1"


def test_with_the_prefecture_down_filings_commit_and_their_notices_wait_then_arrive_in_order_once(wired):
    relay = wired.j.cs_relay(NO_WAIT)
    body = f.move_in([f.person()])
    moved = filings.file(wired.j.uow, CLERK, "move-in", body)
    code = body["persons"][0]["resident_code"]
    relay.run_once()
    wired.sim.stop()
    _move_within(
        wired.j, moved, "2025-06-20", "東京都小平市学園東町一丁目1番1号"
    )  # committed while it is down
    _move_within(wired.j, moved, "2025-06-25", "東京都小平市小川町一丁目2番3号")
    down = relay.run_once()
    assert (down.taken, down.acknowledged, down.unreachable) == (
        2,
        0,
        1,
    )  # the first waits, the second behind it
    assert [n.state for n in notices(wired.j.cs)] == ["acknowledged", "queued", "queued"]
    wired.restart()
    up = relay.run_once()
    assert (up.taken, up.acknowledged, up.refused, up.unreachable) == (0, 2, 0, 0)
    assert relay.run_once().acknowledged == 0  # nothing goes twice
    assert [(n.kind, n.sequence, n.state) for n in notices(wired.j.cs)] == [
        ("転入", 1, "acknowledged"), ("転居", 2, "acknowledged"), ("転居", 3, "acknowledged")
    ]  # fmt: skip
    with wired.j.cs.transaction() as store:
        answers = [line.result for line in store.log_lines() if line.action == "answer"]
    assert answers == ["accepted", "unreachable", "accepted", "accepted"]  # none acknowledged as a repeat
    held = wired.identity(code)
    assert held is not None and held["sequence"] == 3
    assert held["items"]["異動事由"] == "転居" and held["items"]["住所"] == "東京都小平市小川町一丁目2番3号"


# --- the command line -------------------------------------------------------------------------------------------


def test_cs_check_prints_the_differences_with_the_prefecture_and_never_a_my_number(
    wired, db_url, monkeypatch
):
    body = f.move_in([f.person()])
    filings.file(wired.j.uow, CLERK, "move-in", body)
    wired.j.cs_relay().run_once()
    person = body["persons"][0]
    clean = run_cli(wired, db_url, monkeypatch, "cs", "check", "--juki-net", str(wired.config))
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout) == {"persons": 1, "differences": []}
    other = generate_my_number(random.Random(99))
    differs = other != person["my_number"]
    assert differs  # (never an assertion that could print a number)
    held = wired.identity(person["resident_code"])
    assert held is not None
    items = held["items"] | {"個人番号": other, "更新順番号": "2", "異動事由": "軽微な修正"}
    notice = Notice("n-test-2", NoticeKind.MINOR_CORRECTION, person["resident_code"], 2, items)
    with wired.j.prefecture_client() as client:  # type: ignore[union-attr]
        assert client.send(notice) == Accepted(duplicate=False)
    found = run_cli(wired, db_url, monkeypatch, "cs", "check", "--juki-net", str(wired.config))
    assert found.exit_code == 0, "the check ran"
    report = json.loads(found.stdout)
    assert report["persons"] == 1
    by_item = {d["item"]: d for d in report["differences"]}
    assert set(by_item) == {"個人番号", "更新順番号", "異動事由"}
    assert all(set(d) == {"resident_code", "item", "ours", "theirs"} for d in report["differences"])
    assert (by_item["個人番号"]["ours"], by_item["個人番号"]["theirs"]) == ("(個人番号)", "(個人番号)")
    assert (by_item["更新順番号"]["ours"], by_item["更新順番号"]["theirs"]) == ("1", "2")
    leaked = other in found.output or person["my_number"] in found.output
    assert not leaked


def test_cs_check_fails_only_when_it_cannot_run(wired, db_url, monkeypatch):
    filings.file(wired.j.uow, CLERK, "move-in", f.move_in([f.person()]))
    wired.j.cs_relay().run_once()
    wired.sim.stop()
    down = run_cli(wired, db_url, monkeypatch, "cs", "check", "--juki-net", str(wired.config))
    assert down.exit_code != 0 and "接続できません" in down.output


def test_cs_compare_prints_the_j1100_comparison(wired, db_url, monkeypatch):
    filings.file(wired.j.uow, CLERK, "move-in", f.move_in())
    wired.j.cs_relay().run_once()
    done = run_cli(wired, db_url, monkeypatch, "cs", "compare")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"persons": 4, "differences": []}


def test_sim_juki_net_and_cs_serve_have_their_help():
    for command in (["sim", "juki-net"], ["cs", "serve"], ["cs", "check"]):
        shown = runner.invoke(app, [*command, "--help"])
        assert shown.exit_code == 0
    assert "--data" in runner.invoke(app, ["sim", "juki-net", "--help"]).output


def test_demo_writes_juki_net_json_beside_its_database_and_stops_the_simulator_with_itself(
    tmp_path, monkeypatch
):
    import socket
    from urllib.parse import urlsplit

    from juki.demo import generator

    monkeypatch.setattr(generator, "build_demo", lambda j, **options: None)  # the city itself: test_demo.py
    monkeypatch.setenv("JUKI_CS_KEY_FILE", str(tmp_path / "juki-cs-keys.json"))
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--port", "8123", "--no-serve"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "juki-net.json").read_text(encoding="utf-8"))
    assert set(written) == {"url", "pki"} and (tmp_path / written["pki"] / "ca.pem").exists()
    assert written["url"].startswith("https://127.0.0.1:")
    with socket.socket() as probe:  # the simulator went down with the command
        assert probe.connect_ex(("127.0.0.1", urlsplit(written["url"]).port or 0)) != 0


def test_cs_serve_runs_the_relay_over_the_register_it_is_given(wired, db_url, monkeypatch):
    from juki.cs.services.relay import Relay

    intervals: list[float] = []

    def one_pass(relay: Relay, interval: float) -> None:
        intervals.append(interval)
        relay.run_once()

    monkeypatch.setattr(Relay, "run_until_stopped", one_pass)
    person = _move_in(wired.j)
    args = ("cs", "serve", "--juki-net", str(wired.config), "--interval", "0.5")
    done = run_cli(wired, db_url, monkeypatch, *args)
    assert done.exit_code == 0, done.output
    assert intervals == [0.5]
    held = wired.identity(person["resident_code"])
    assert held is not None and held["items"]["異動事由"] == "転入"
