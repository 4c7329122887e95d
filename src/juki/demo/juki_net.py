"""The demo's 住基ネット: the simulated prefecture server (juki.sim.juki_net) in a folder beside the demo's database,
and `juki-net.json` beside the database pointing the city's CS at it (shared/spec/API.md, 住基ネット):
`{"url": "https://127.0.0.1:<port>", "pki": "juki-net"}` (`pki` relative to the JSON's folder).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from juki.adapters.db import database_url
from juki.sim.juki_net import Running, start_in_thread
from juki.sim.serving import write_link_config

CONFIG_NAME = "juki-net.json"
DATA_NAME = "juki-net"
SIMULATOR_PATHS = ("/prefecture/", "/national/", "/jlis/", "/network/")


class _NoSimulatorRequests(logging.Filter):
    """uvicorn's access logger is one per process: once the clerk server (in the same process) turns it on, it
    would log the simulator's requests too, whose paths name a 住民票コード. Those lines are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) > 2 else ""
        return not str(path).startswith(SIMULATOR_PATHS)


def _quiet_simulator_requests() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoSimulatorRequests) for f in access.filters):
        access.addFilter(_NoSimulatorRequests())


def demo_folder(db: str) -> Path:
    """Where the demo keeps its files: beside a SQLite database, else `var/` (a server database)."""
    url = make_url(database_url(db))
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return Path("var")


def config_file(db: str) -> Path:
    """`juki-net.json` beside the database (what `juki cs check` and `juki cs serve` read by default)."""
    return demo_folder(db) / CONFIG_NAME


def start_juki_net(db: str, port: int = 0, info_network: Path | None = None) -> tuple[Running, Path]:
    """Start the simulator in a thread over `<folder>/juki-net/` (its PKI made on the first start) and write
    `juki-net.json` for where it answers now; the running simulator and the JSON's path. `info_network`: the
    simulated 情報提供ネットワークシステム's `info-network.json`, where its J-LIS asks for the 符号 (符号取得)."""
    folder = demo_folder(db)
    folder.mkdir(parents=True, exist_ok=True)
    _quiet_simulator_requests()
    running = start_in_thread(folder / DATA_NAME, port=port, info_network=info_network)
    return running, write_link_config(folder / CONFIG_NAME, running.url, DATA_NAME)
