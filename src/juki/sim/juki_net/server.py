"""The simulated 住基ネット over mutual TLS (uvicorn), in the foreground (`serve`, for `juki sim juki-net`) or in a
thread of this process (`start_in_thread`, for `juki demo` and the tests).

uvicorn requires a client certificate issued by the folder's CA (`ssl_cert_reqs=CERT_REQUIRED`,
`ssl_ca_certs=ca.pem`): a peer with none, or with one from another CA, is refused during the TLS handshake and
never gets an HTTP answer. uvicorn's access log is off: its lines name the 住民票コード in the path.

`info_network` (an `info-network.json`, `{"url", "pki"}`) names the 情報提供ネットワークシステム J-LIS asks to issue
the 符号 of a city's 符号取得の要求 (jlis.py); without it J-LIS answers `network_unreachable` and the city asks again.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import uvicorn

from juki.sim.juki_net.app import create_app
from juki.sim.juki_net.jlis import IssueLinkCode
from juki.sim.juki_net.pki import CA, SERVER, ensure_pki
from juki.sim.juki_net.store import JukiNetStore

START_SECONDS = 15.0
POLL_SECONDS = 0.02


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
    return uvicorn.Config(
        create_app(store, info_network, issue_link_code=issue_link_code),
        host=host,
        port=port,
        ssl_certfile=str(pki.cert(SERVER)),
        ssl_keyfile=str(pki.key(SERVER)),
        ssl_ca_certs=str(pki.cert(CA)),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        access_log=False,
        timeout_graceful_shutdown=2,
        **extra,
    )


def serve(
    data_dir: Path, host: str = "127.0.0.1", port: int = 8445, info_network: Path | None = None
) -> None:
    """Run the simulator until interrupted (the CA and certificates made on the first start in `data_dir`)."""
    store = JukiNetStore(data_dir)
    try:
        uvicorn.Server(server_config(data_dir, store, host, port, info_network, log_level="info")).run()
    finally:
        store.close()


class _GoesDown(uvicorn.Server):
    """A server that drops its connections when it stops, as a server going down does: a TLS connection a client
    keeps alive would otherwise hold a graceful shutdown until its close_notify, which an idle client never
    sends."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class Running(NamedTuple):
    """A simulator running in a thread: where it answers, and how to stop it (waits until it has)."""

    url: str
    stop: Callable[[], None]

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 443)


def _bound_port(server: uvicorn.Server, asked: int) -> int:
    for listening in getattr(server, "servers", []):
        for sock in listening.sockets:
            return int(sock.getsockname()[1])
    return asked


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
    server = _GoesDown(config)
    thread = threading.Thread(target=server.run, name="juki-net", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_SECONDS)
            store.close()
            raise RuntimeError("the simulated 住基ネット did not start")
        time.sleep(POLL_SECONDS)

    def stop() -> None:
        server.should_exit = True
        thread.join(START_SECONDS)
        store.close()

    return Running(f"https://{host}:{_bound_port(server, port)}", stop)


def restart(running: Running, data_dir: Path, *, info_network: Path | None = None) -> Running:
    """Stop the simulator and start it again on the same port over the same folder (an outage and its end)."""
    running.stop()
    host = urlsplit(running.url).hostname or "127.0.0.1"
    return start_in_thread(data_dir, host, running.port, info_network=info_network)
