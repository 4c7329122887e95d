"""The demo's 情報提供ネットワークシステム: the simulated network (juki.sim.info_network) in a folder beside the demo's
database, and `info-network.json` beside the database pointing the city's 中間サーバー (and `juki sim info-network
query`) at it (shared/spec/API.md, 中間サーバー): `{"url": "https://127.0.0.1:<port>", "pki": "info-network"}`
(`pki` relative to the JSON's folder).
"""

from __future__ import annotations

from pathlib import Path

from juki.demo.juki_net import demo_folder
from juki.domain.intake import CITY_CODE
from juki.sim.info_network import Running, start_in_thread
from juki.sim.serving import write_link_config

CONFIG_NAME = "info-network.json"
DATA_NAME = "info-network"


def config_file(db: str) -> Path:
    """`info-network.json` beside the database."""
    return demo_folder(db) / CONFIG_NAME


def start_info_network(db: str, port: int = 0, *, city_code: str = CITY_CODE) -> tuple[Running, Path]:
    """Start the network in a thread over `<folder>/info-network/` (its PKI made on the first start, the city's
    certificate naming `city_code`) and write `info-network.json` for where it answers now; the running network
    and the JSON's path."""
    folder = demo_folder(db)
    folder.mkdir(parents=True, exist_ok=True)
    running = start_in_thread(folder / DATA_NAME, port=port, city_code=city_code)
    return running, write_link_config(folder / CONFIG_NAME, running.url, DATA_NAME)
