"""The simulated 情報提供ネットワークシステム over mutual TLS (uvicorn), in the foreground (`serve`, for
`juki sim info-network`) or in a thread of this process (`start_in_thread`, for `juki demo` and the tests).

uvicorn requires a client certificate issued by the folder's CA (`ssl_cert_reqs=CERT_REQUIRED`,
`ssl_ca_certs=ca.pem`): a peer with none, or with one from another CA, is refused during the TLS handshake and
never gets an HTTP answer. Its HTTP protocol (adapters/kiosk_tls.py's, which passes the verified certificate on as
the ASGI TLS extension) lets the app tell who calls by the certificate's common name. uvicorn's access log is off.
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

from juki.adapters.kiosk_tls import KioskTLSProtocol
from juki.domain.intake import CITY_CODE
from juki.sim.info_network.app import ANSWER_TIMEOUT, create_app
from juki.sim.info_network.pki import CA, SERVER, ensure_pki
from juki.sim.info_network.store import InfoNetworkStore

START_SECONDS = 15.0
POLL_SECONDS = 0.02
DEFAULT_PORT = 8446


def server_config(
    data_dir: Path,
    store: InfoNetworkStore,
    host: str,
    port: int,
    *,
    city_code: str = CITY_CODE,
    answer_timeout: float = ANSWER_TIMEOUT,
    **extra: Any,
) -> uvicorn.Config:
    """uvicorn serving the network's API over TLS that requires a client certificate of the folder's CA."""
    pki = ensure_pki(data_dir, city_code)
    return uvicorn.Config(
        create_app(store, city_code=city_code, answer_timeout=answer_timeout),
        host=host,
        port=port,
        ssl_certfile=str(pki.cert(SERVER)),
        ssl_keyfile=str(pki.key(SERVER)),
        ssl_ca_certs=str(pki.cert(CA)),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        http=KioskTLSProtocol,
        access_log=False,
        timeout_graceful_shutdown=2,
        **extra,
    )


def serve(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    city_code: str = CITY_CODE,
    answer_timeout: float = ANSWER_TIMEOUT,
) -> None:
    """Run the network until interrupted (the CA and certificates made on the first start in `data_dir`)."""
    store = InfoNetworkStore(data_dir)
    try:
        config = server_config(
            data_dir, store, host, port, city_code=city_code, answer_timeout=answer_timeout, log_level="info"
        )
        uvicorn.Server(config).run()
    finally:
        store.close()


class _GoesDown(uvicorn.Server):
    """A server that drops its connections when it stops, as a server going down does (a long-polled inbox or
    a kept-alive TLS connection would otherwise hold a graceful shutdown)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class Running(NamedTuple):
    """A network running in a thread: where it answers, how to stop it (waits until it has), and how it was
    started (for `restart`)."""

    url: str
    stop: Callable[[], None]
    city_code: str = CITY_CODE
    answer_timeout: float = ANSWER_TIMEOUT

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
    city_code: str = CITY_CODE,
    answer_timeout: float = ANSWER_TIMEOUT,
    log_level: str = "warning",
) -> Running:
    """Start the network in a daemon thread and return once it listens (`port` 0: a free one)."""
    store = InfoNetworkStore(data_dir)
    config = server_config(
        data_dir, store, host, port, city_code=city_code, answer_timeout=answer_timeout, log_level=log_level
    )
    server = _GoesDown(config)
    thread = threading.Thread(target=server.run, name="info-network", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_SECONDS)
            store.close()
            raise RuntimeError("the simulated 情報提供ネットワークシステム did not start")
        time.sleep(POLL_SECONDS)

    def stop() -> None:
        server.should_exit = True
        thread.join(START_SECONDS)
        store.close()

    return Running(f"https://{host}:{_bound_port(server, port)}", stop, city_code, answer_timeout)


def restart(running: Running, data_dir: Path) -> Running:
    """Stop the network and start it again on the same port over the same folder (an outage and its end)."""
    running.stop()
    host = urlsplit(running.url).hostname or "127.0.0.1"
    return start_in_thread(
        data_dir, host, running.port, city_code=running.city_code, answer_timeout=running.answer_timeout
    )
