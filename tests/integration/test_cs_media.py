"""The manual fallback (標準仕様書 j1090) end to end with the CLI and a real simulator data folder, on SQLite and
PostgreSQL: the link down, the CS operator switches to media (`juki cs media-mode`), the relay takes in but sends
nothing, `juki cs media-export` writes the notices (0600), the prefecture takes them in (`juki sim juki-net
media-import`), `juki cs media-answers` acknowledges them in the CS; back on the link, a later notice goes over
mutual TLS in order — and the CLI names the operator in both logs, refuses anyone else, and prints no My Number."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from juki.adapters import tables as rt
from juki.bootstrap import Juki
from juki.cli.main import app
from juki.cs.adapters import tables as t
from juki.services import filings
from juki.sim.juki_net import restart
from juki.sim.juki_net.store import JukiNetStore
from tests import factories as f
from tests.cs.support import CLERK, notices, rows
from tests.integration.juki_net_link import Wired, linked, run_cli
from tests.leakcheck import found_in

runner = CliRunner()
OPERATOR = ("--operator", "cs1", "--terminal", "cs-terminal-9")


@pytest.fixture
def wired(j: Juki, tmp_path: Path) -> Iterator[Wired]:
    with linked(j, tmp_path) as world:
        yield world


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    """The carried medium (it holds My Numbers): removed before the leak check scans tmp_path."""
    yield tmp_path / "medium"
    shutil.rmtree(tmp_path / "medium", ignore_errors=True)


def _held(wired: Wired, code: str) -> int | None:
    store = JukiNetStore(wired.data)
    try:
        held = store.held(code)
        return None if held is None else held.sequence
    finally:
        store.close()


def test_the_whole_loop_on_media_and_back_on_the_link(wired, db_url, monkeypatch, out):
    wired.sim.stop()  # the 住基ネット is down for days
    switched = run_cli(wired, db_url, monkeypatch, "cs", "media-mode", *OPERATOR, "media")
    assert switched.exit_code == 0, switched.output
    assert json.loads(switched.stdout) | {"since": None} == {
        "mode": "media",
        "since": None,
        "by": "cs1",
        "on_media": 0,
    }
    body = f.move_in(f.family_of_four())
    done = filings.file(wired.j.uow, CLERK, "move-in", body)
    passed = wired.j.cs_relay().run_once()
    assert (passed.taken, passed.acknowledged, passed.unreachable) == (4, 0, 0)  # taken in, never tried

    exported = run_cli(wired, db_url, monkeypatch, "cs", "media-export", *OPERATOR, "--to", str(out))
    assert exported.exit_code == 0, exported.output
    written = json.loads(exported.stdout)
    assert written["count"] == 4 and Path(written["file"]).stat().st_mode & 0o777 == 0o600
    assert not found_in(exported.output)

    imported = runner.invoke(
        app, ["sim", "juki-net", "media-import", "--data", str(wired.data), written["file"]]
    )
    assert imported.exit_code == 0, imported.output
    assert "受理 4件" in imported.output and not found_in(imported.output)
    (answers,) = out.glob("*.answers.manifest.json")

    applied = run_cli(wired, db_url, monkeypatch, "cs", "media-answers", *OPERATOR, str(answers))
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout) == {"acknowledged": 4, "refused": 0, "requeued": 0, "skipped": 0}
    codes = [p["resident_code"] for p in body["persons"]]
    assert [_held(wired, c) for c in codes] == [1, 1, 1, 1]  # at the prefecture
    assert {n.state for n in notices(wired.j.cs)} == {"acknowledged"}  # and in the CS

    wired.sim = restart(wired.sim, wired.data)  # the link is back
    back = run_cli(wired, db_url, monkeypatch, "cs", "media-mode", *OPERATOR, "link")
    assert back.exit_code == 0, back.output
    people = [c["addressee_number"] for c in done.changes]
    filings.file(wired.j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": people, "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    again = wired.j.cs_relay().run_once()
    assert (again.taken, again.acknowledged) == (4, 4)
    assert [_held(wired, c) for c in codes] == [2, 2, 2, 2]  # over mutual TLS, next in each person's order

    with wired.j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).where(rt.operation_log.c.action.like("cs:media%"))).all()
    assert [(r.action, r.staff_id, r.terminal) for r in log] == [
        ("cs:media_mode", "cs1", "cs-terminal-9"), ("cs:media_export", "cs1", "cs-terminal-9"),
        ("cs:media_answers", "cs1", "cs-terminal-9"), ("cs:media_mode", "cs1", "cs-terminal-9"),
    ]  # fmt: skip
    cs_log = [r for r in rows(wired.j.cs, t.log, t.log.c.id) if r.action.startswith("media")]
    assert {(r.staff_id, r.terminal) for r in cs_log} == {("cs1", "cs-terminal-9")}


def test_the_cli_acts_only_as_an_active_cs_operator(wired, db_url, monkeypatch, out):
    clerk = run_cli(wired, db_url, monkeypatch, "cs", "media-mode", "--operator", "clerk1", "media")
    assert clerk.exit_code == 2 and "forbidden" in clerk.output
    unknown = run_cli(
        wired, db_url, monkeypatch, "cs", "media-export", "--operator", "nobody", "--to", str(out)
    )
    assert unknown.exit_code == 2 and "アカウントはありません" in unknown.output
    on_link = run_cli(wired, db_url, monkeypatch, "cs", "media-export", *OPERATOR, "--to", str(out))
    assert on_link.exit_code == 2 and "cs_sending_by_link" in on_link.output
    with wired.j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).where(rt.operation_log.c.action.like("cs:media%"))).all()
    assert [(r.action, r.staff_id, r.result) for r in log] == [("cs:media_mode", "clerk1", "denied")]


def test_a_tampered_answers_file_is_refused_by_therun_cli(wired, db_url, monkeypatch, out):
    wired.sim.stop()
    run_cli(wired, db_url, monkeypatch, "cs", "media-mode", *OPERATOR, "media")
    filings.file(wired.j.uow, CLERK, "move-in", f.move_in(f.family_of_four()[:1]))
    wired.j.cs_relay().run_once()
    written = json.loads(
        run_cli(wired, db_url, monkeypatch, "cs", "media-export", *OPERATOR, "--to", str(out)).stdout
    )
    runner.invoke(app, ["sim", "juki-net", "media-import", "--data", str(wired.data), written["manifest"]])
    (answers,) = out.glob("*.answers.jsonl")
    answers.write_bytes(answers.read_bytes().replace(b"accepted", b"duplicate"))
    refused = run_cli(wired, db_url, monkeypatch, "cs", "media-answers", *OPERATOR, str(answers))
    assert refused.exit_code == 2 and "media_file_tampered" in refused.output
    assert {n.state for n in notices(wired.j.cs)} == {"on_media"}
