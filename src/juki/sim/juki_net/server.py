"""The simulated 住基ネット over mutual TLS (uvicorn), in the foreground (`serve`, for `juki sim juki-net`) or in a
thread of this process (`start_in_thread`, for `juki demo` and the tests); how is sim/serving.py's.

uvicorn requires a client certificate issued by the folder's CA (`ssl_cert_reqs=CERT_REQUIRED`,
`ssl_ca_certs=ca.pem`): a peer with none, or with one from another CA, is refused during the TLS handshake and
never gets an HTTP answer. uvicorn's access log is off: its lines name the 住民票コード in the path.

`info_network` (an `info-network.json`, `{"url", "pki"}`) names the 情報提供ネットワークシステム J-LIS asks to issue
the 符号 of a city's 符号取得の要求 (jlis.py); without it J-LIS answers `network_unreachable` and the city asks again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import uvicorn

from juki.sim import serving
from juki.sim.juki_net.app import create_app
from juki.sim.juki_net.jlis import IssueLinkCode
from juki.sim.juki_net.pki import ensure_pki
from juki.sim.juki_net.store import JukiNetStore
from juki.sim.serving import Running

__all__ = ["Running", "restart", "serve", "server_config", "start_in_thread"]


def server_config(
    data_dir: Path,
    store: JukiNetStore,
    host: str,
    port: int,
    info_network: Path | None = None,
    issue_link_code: IssueLinkCode | None = None,
    **extra: Any,
) -> uvicorn.Config:
    """uvicorn serving the simulator's API over TLS that requires a client certificate of the folder's CA."""
    pki = ensure_pki(data_dir)
    app = create_app(store, info_network, issue_link_code=issue_link_code)
    return serving.mutual_tls_config(app, pki, host, port, **extra)


def serve(
    data_dir: Path, host: str = "127.0.0.1", port: int = 8445, info_network: Path | None = None
) -> None:
    """Run the simulator until interrupted (the CA and certificates made on the first start in `data_dir`)."""
    store = JukiNetStore(data_dir)
    serving.serve(
        lambda: server_config(data_dir, store, host, port, info_network, log_level="info"), store.close
    )


def start_in_thread(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    info_network: Path | None = None,
    issue_link_code: IssueLinkCode | None = None,
) -> Running:
    """Start the simulator in a daemon thread and return once it listens (`port` 0: a free one). J-LIS reaches the
    network through `issue_link_code` (tests) or the one `info_network` names (module docstring)."""
    store = JukiNetStore(data_dir)
    config = server_config(data_dir, store, host, port, info_network, issue_link_code, log_level=log_level)
    return serving.start_in_thread(config, store.close, "juki-net", what="住基ネット")


def restart(running: Running, data_dir: Path, *, info_network: Path | None = None) -> Running:
    """Stop the simulator and start it again on the same port over the same folder (an outage and its end)."""
    host, port = serving.stop_for_restart(running)
    return start_in_thread(data_dir, host, port, info_network=info_network)
