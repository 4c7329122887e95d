"""A register whose CS is linked to a real simulated 住基ネット (mutual TLS, a data folder of its own under
tmp_path), as `juki demo` links them: the tests of the wiring, the 整合性確認 and sending on media share it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from juki.bootstrap import Juki
from juki.cli.main import app
from juki.sim.juki_net import Running, restart, start_in_thread

runner = CliRunner()


@dataclasses.dataclass
class Wired:
    j: Juki
    sim: Running
    data: Path
    config: Path

    def restart(self) -> None:
        self.sim = restart(self.sim, self.data)

    def identity(self, code: str) -> dict[str, Any] | None:
        client = self.j.prefecture_client()
        assert client is not None
        with client:
            return client.identity(code)


def write_config(path: Path, sim: Running) -> None:
    path.write_text(json.dumps({"url": sim.url, "pki": "juki-net"}), encoding="utf-8")


@contextmanager
def linked(j: Juki, tmp_path: Path) -> Iterator[Wired]:
    """`j` with its CS linked to a simulator started in `tmp_path/juki-net`; stopped and closed afterwards."""
    data = tmp_path / "juki-net"
    sim = start_in_thread(data)
    config = tmp_path / "juki-net.json"
    write_config(config, sim)
    settings = j.settings.model_copy(
        update={"juki_net_config": str(config), "cs_key_file": str(tmp_path / "juki-cs-keys.json")}
    )
    world = Wired(dataclasses.replace(j, settings=settings, migrate_cs=True), sim, data, config)
    try:
        yield world
    finally:
        world.sim.stop()
        world.j.cs.dispose()


def run_cli(wired: Wired, db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    """`juki …args --db db_url` in-process, with the CS's key file of `wired`."""
    monkeypatch.setenv("JUKI_CS_KEY_FILE", str(wired.j.settings.cs_key_file))
    return runner.invoke(app, [*args, "--db", db_url])
