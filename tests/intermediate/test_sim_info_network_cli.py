"""`juki sim info-network --data DIR --port N` as a process of its own: it makes its PKI, writes
`info-network.json` in DIR and serves; `juki sim info-network query` (another process) reaches it and prints one
JSON object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from juki.intermediate import wire
from juki.intermediate.adapters.network_client import HttpNetworkClient, NetworkUnreachable
from tests.cs.juki_net_support import free_port
from tests.intermediate.info_network_support import BASIS, CITY, REQUESTER, resident_code

JUKI = [sys.executable, "-m", "juki.cli.main"]


def _juki(*args: str) -> list[str]:
    return [*JUKI, "sim", "info-network", *args]


def test_the_network_runs_as_its_own_process_and_the_query_command_reaches_it(tmp_path: Path) -> None:
    data, port = tmp_path / "net", free_port()
    server = subprocess.Popen(
        _juki("--data", str(data), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        config = data / "info-network.json"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                if config.exists():
                    with HttpNetworkClient.from_config(config, timeout=2.0) as city:
                        city.new_serial(CITY)
                    break
            except NetworkUnreachable:
                pass
            assert time.monotonic() < deadline, "the network did not start"
            time.sleep(0.2)
        assert json.loads(config.read_text(encoding="utf-8")) == {
            "url": f"https://127.0.0.1:{port}",
            "pki": ".",
        }
        asked = subprocess.run(
            _juki("query", "--config", str(config), "--requester", REQUESTER, "--basis", BASIS,
                  "--resident-code", resident_code()),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout) == {
            "status": "no_link_code",
            "data": None,
            "message": wire.LINK_CODE_MISSING,
        }
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
