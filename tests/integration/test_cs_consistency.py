"""The 整合性確認 end to end (j1100), on SQLite and PostgreSQL: the register's changes delivered by the CS's relay to
the simulated prefecture over mutual TLS, its copy of the city's file fetched (`GET
/prefecture/v1/consistency/{city}`), and `juki cs consistency` / `juki cs export` run as the CLI — no difference
when both hold the same, each spoilt person reported by code and item and queued once, never a My Number."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from juki.bootstrap import Juki
from juki.cs.adapters.consistency_client import HttpsConsistencyClient
from juki.cs.domain.consistency import Manifest, manifest_from_json
from juki.services import filings
from juki.sim.juki_net.store import JukiNetStore
from tests import factories as f
from tests.cs.support import CLERK, notices
from tests.factories import generate_my_number
from tests.integration.juki_net_link import Wired, linked, run_cli
from tests.leakcheck import found_in

runner = CliRunner()


@pytest.fixture
def wired(j: Juki, tmp_path: Path) -> Iterator[Wired]:
    with linked(j, tmp_path) as world:
        yield world


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    """Our exports (they hold My Numbers): removed before the leak check scans tmp_path."""
    yield tmp_path / "export"
    shutil.rmtree(tmp_path / "export", ignore_errors=True)


def _family_delivered(wired: Wired) -> list[dict[str, Any]]:
    body = f.move_in(f.family_of_four())
    filings.file(wired.j.uow, CLERK, "move-in", body)
    done = wired.j.cs_relay().run_once()
    assert (done.taken, done.acknowledged) == (4, 4)
    return sorted(body["persons"], key=lambda p: p["resident_code"])


def test_the_simulator_answers_its_copy_of_the_citys_file_once(wired):
    persons = _family_delivered(wired)
    city = wired.j.settings.city_code
    client = wired.j.prefecture_client()
    assert client is not None
    with client:
        answer = client.call("GET", f"/prefecture/v1/consistency/{city}").json()
        manifest = manifest_from_json(answer["manifest"], city)
        data = client.call("GET", answer["csv"]).content
        assert client.call("GET", answer["csv"]).status_code == 404  # fetched once, then forgotten
        assert client.call("GET", "/prefecture/v1/consistency/13211").status_code == 422
        other = client.call("GET", "/prefecture/v1/consistency/132039").json()["manifest"]
    assert (manifest.rows, manifest.sha256) == (4, hashlib.sha256(data).hexdigest())
    codes = [line.split(",")[0] for line in data.decode().split("\r\n")[1:-1]]
    assert codes == [p["resident_code"] for p in persons]
    assert other["rows"] == 0


def _spoil(wired: Wired, persons: list[dict[str, Any]]) -> None:
    """At the prefecture: the first person's number changed, the second lost."""
    store = JukiNetStore(wired.data)  # a second connection to the simulator's file
    try:
        first, second = persons[0]["resident_code"], persons[1]["resident_code"]
        held = store.held(first)
        assert held is not None
        items = held.items | {"個人番号": generate_my_number(random.Random(99))}
        with store.locked() as db:
            db.execute(
                "UPDATE prefecture_identity SET items = ? WHERE resident_code = ?", (store.seal(items), first)
            )
            db.execute("DELETE FROM prefecture_identity WHERE resident_code = ?", (second,))
    finally:
        store.close()


def test_juki_cs_consistency_reports_and_queues_each_difference_and_never_a_my_number(
    wired, db_url, monkeypatch, out
):
    persons = _family_delivered(wired)
    args = ("cs", "consistency", "--juki-net", str(wired.config))
    clean = run_cli(wired, db_url, monkeypatch, *args, "--export-to", str(out))
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout) == {"persons": 4, "differences": [], "queued": 0}
    (kept,) = out.glob("*.csv")
    assert kept.stat().st_mode & 0o777 == 0o600
    _spoil(wired, persons)
    found = run_cli(wired, db_url, monkeypatch, *args)
    assert found.exit_code == 0, found.output
    first, second = persons[0]["resident_code"], persons[1]["resident_code"]
    assert json.loads(found.stdout) == {
        "persons": 4,
        "differences": [
            {"resident_code": first, "item": "個人番号", "kind": "item_differs"},
            {"resident_code": second, "item": "(登録なし)", "kind": "only_ours"},
        ],
        "queued": 2,
    }
    assert not found_in(found.output)
    queued = [(n.resident_code, n.state, n.error_item) for n in notices(wired.j.cs) if n.state == "error"]
    assert sorted(queued) == sorted([(first, "error", "個人番号"), (second, "error", "住民票コード")])
    again = run_cli(wired, db_url, monkeypatch, *args)
    assert json.loads(again.stdout)["queued"] == 0  # their entries are open: not queued twice


def test_the_consistency_fails_only_when_it_cannot_run(wired, db_url, monkeypatch):
    _family_delivered(wired)
    wired.sim.stop()
    down = run_cli(wired, db_url, monkeypatch, "cs", "consistency", "--juki-net", str(wired.config))
    assert down.exit_code != 0 and "接続できません" in down.output


def test_a_file_spoilt_on_the_way_is_refused_and_nothing_queued(wired, monkeypatch):
    from juki.cs.adapters import consistency_tables
    from juki.cs.adapters.consistency_file import ConsistencyFiles
    from juki.cs.domain.consistency import TAMPERED, ConsistencyFileError
    from juki.cs.services import consistency
    from juki.policy.roles import CS_SYSTEM

    _family_delivered(wired)
    client = wired.j.prefecture_client()
    assert client is not None
    real = client.call

    def spoilt(method: str, path: str, *a: Any, **k: Any) -> Any:
        answer = real(method, path, *a, **k)
        if "/files/" in path:
            answer._content = answer.content.replace("東京都".encode(), "東京府".encode(), 1)
        return answer

    monkeypatch.setattr(client, "call", spoilt)
    before = len(notices(wired.j.cs))
    with client, pytest.raises(ConsistencyFileError) as refused:
        consistency.run(wired.j.uow, lambda: consistency_tables.transaction(wired.j.cs), ConsistencyFiles(),
                        HttpsConsistencyClient(client), CS_SYSTEM, wired.j.settings.city_code)  # fmt: skip
    assert refused.value.code == TAMPERED
    assert len(notices(wired.j.cs)) == before


def test_juki_cs_export_writes_the_file_and_its_manifest(wired, db_url, monkeypatch, out):
    persons = _family_delivered(wired)
    done = run_cli(wired, db_url, monkeypatch, "cs", "export", "--to", str(out))
    assert done.exit_code == 0, done.output
    printed = json.loads(done.stdout)
    assert not found_in(done.output)
    manifest: Manifest = manifest_from_json(
        json.loads(Path(printed["manifest"]).read_text(encoding="utf-8")), wired.j.settings.city_code
    )
    data = Path(printed["csv"]).read_bytes()
    assert (printed["rows"], manifest.rows) == (4, 4)
    assert manifest.sha256 == printed["sha256"] == hashlib.sha256(data).hexdigest()
    assert all(p["my_number"].encode() in data for p in persons)  # the prefecture's file holds the number
