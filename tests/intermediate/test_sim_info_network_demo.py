"""The demo's network: started in a thread beside the demo's database (folder `info-network/`), with
`info-network.json` beside the database pointing at it (shared/spec/API.md, 中間サーバー)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from juki.cli.info_network import info_network_app
from juki.demo.info_network import CONFIG_NAME, config_file, start_info_network
from juki.intermediate.adapters.network_client import HttpNetworkClient
from tests.intermediate.info_network_support import CITY


def test_the_demo_starts_the_network_beside_its_database_and_writes_info_network_json(tmp_path: Path) -> None:
    db = str(tmp_path / "demo.db")
    running, path = start_info_network(db)
    try:
        assert path == config_file(db) == tmp_path / CONFIG_NAME
        assert json.loads(path.read_text(encoding="utf-8")) == {"url": running.url, "pki": "info-network"}
        assert (tmp_path / "info-network" / "city.pem").exists()
        with HttpNetworkClient.from_config(path) as city:
            city.new_serial(CITY)
            assert city.inbox(CITY, 0) == []
    finally:
        running.stop()


def test_the_server_command_needs_a_data_folder() -> None:
    result = CliRunner().invoke(info_network_app, [])
    assert result.exit_code == 2 and "--data" in result.stderr
