"""Serving a simulated network over mutual TLS (uvicorn): the 住基ネット (sim/juki_net/server.py) and the
情報提供ネットワークシステム (sim/info_network/server.py), in the foreground (`serve`) or in a thread of this process
(`start_in_thread`, for `juki demo` and the tests).

uvicorn requires a client certificate issued by the folder's CA (`ssl_cert_reqs=CERT_REQUIRED`,
`ssl_ca_certs=ca.pem`): a peer with none, or with one from another CA, is refused during the TLS handshake and
never gets an HTTP answer. uvicorn's access log is off (the 住基ネット's paths name the 住民票コード).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import uvicorn

from juki.sim.network_pki import SERVER, NetworkPKI

START_SECONDS = 15.0
POLL_SECONDS = 0.02


def mutual_tls_config(app: Any, pki: NetworkPKI, host: str, port: int, **extra: Any) -> uvicorn.Config:
    """uvicorn serving `app` over TLS with the folder's server certificate, requiring a client certificate of the
    folder's CA."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(pki.cert(SERVER)),
        ssl_keyfile=str(pki.key(SERVER)),
        ssl_ca_certs=str(pki.ca),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        access_log=False,
        timeout_graceful_shutdown=2,
        **extra,
    )


def serve(config: Callable[[], uvicorn.Config], close: Callable[[], None]) -> None:
    """Run the server `config` makes until interrupted; `close` (its store) afterwards, whatever happened."""
    try:
        uvicorn.Server(config()).run()
    finally:
        close()


class _GoesDown(uvicorn.Server):
    """A server that drops its connections when it stops, as a server going down does: a long-polled inbox, or a
    TLS connection a client keeps alive, would otherwise hold a graceful shutdown (until its close_notify, which an
    idle client never sends)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


class Running(NamedTuple):
    """A server running in a thread: where it answers, and how to stop it (waits until it has)."""

    url: str
    stop: Callable[[], None]

    @property
    def port(self) -> int:
        return url_port(self.url)


def url_port(url: str) -> int:
    return int(urlsplit(url).port or 443)


def _bound_port(server: uvicorn.Server, asked: int) -> int:
    for listening in getattr(server, "servers", []):
        for sock in listening.sockets:
            return int(sock.getsockname()[1])
    return asked


def start_in_thread(config: uvicorn.Config, close: Callable[[], None], name: str, *, what: str) -> Running:
    """Start the server in a daemon thread called `name` and return once it listens (`config.port` 0: a free
    one); `close` (its store) once it has stopped, or when it did not start (RuntimeError naming `what`)."""
    server = _GoesDown(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(START_SECONDS)
            close()
            raise RuntimeError(f"the simulated {what} did not start")
        time.sleep(POLL_SECONDS)

    def stop() -> None:
        server.should_exit = True
        thread.join(START_SECONDS)
        close()

    return Running(f"https://{config.host}:{_bound_port(server, config.port)}", stop)


class _Stoppable(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def port(self) -> int: ...

    def stop(self) -> None: ...


def stop_for_restart(running: _Stoppable) -> tuple[str, int]:
    """Stop a running server (an outage); the host and port to start it again on (its end)."""
    running.stop()
    return urlsplit(running.url).hostname or "127.0.0.1", running.port


def write_link_config(path: Path, url: str, pki: str) -> Path:
    """The JSON a city's link reads (`juki-net.json`, `info-network.json`; shared/spec/API.md): where the simulator
    answers and its PKI folder (relative to the JSON's folder)."""
    path.write_text(json.dumps({"url": url, "pki": pki}, ensure_ascii=False), encoding="utf-8")
    return path
