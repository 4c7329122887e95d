"""The simulated 情報提供ネットワークシステム over mutual TLS (uvicorn), in the foreground (`serve`, for
`juki sim info-network`) or in a thread of this process (`start_in_thread`, for `juki demo` and the tests); how is
sim/serving.py's.

uvicorn requires a client certificate issued by the folder's CA (`ssl_cert_reqs=CERT_REQUIRED`,
`ssl_ca_certs=ca.pem`): a peer with none, or with one from another CA, is refused during the TLS handshake and
never gets an HTTP answer. Its HTTP protocol (adapters/kiosk_tls.py's, which passes the verified certificate on as
the ASGI TLS extension) lets the app tell who calls by the certificate's common name. uvicorn's access log is off.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import uvicorn

from juki.adapters.kiosk_tls import KioskTLSProtocol
from juki.domain.intake import CITY_CODE
from juki.sim import serving
from juki.sim.info_network.app import ANSWER_TIMEOUT, create_app
from juki.sim.info_network.pki import ensure_pki
from juki.sim.info_network.store import InfoNetworkStore

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
    app = create_app(store, city_code=city_code, answer_timeout=answer_timeout)
    return serving.mutual_tls_config(app, pki, host, port, http=KioskTLSProtocol, **extra)


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
    serving.serve(
        lambda: server_config(
            data_dir, store, host, port, city_code=city_code, answer_timeout=answer_timeout, log_level="info"
        ),
        store.close,
    )


class Running(NamedTuple):
    """A network running in a thread: where it answers, how to stop it (waits until it has), and how it was
    started (for `restart`)."""

    url: str
    stop: Callable[[], None]
    city_code: str = CITY_CODE
    answer_timeout: float = ANSWER_TIMEOUT

    @property
    def port(self) -> int:
        return serving.url_port(self.url)


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
    url, stop = serving.start_in_thread(
        config, store.close, "info-network", what="情報提供ネットワークシステム"
    )
    return Running(url, stop, city_code, answer_timeout)


def restart(running: Running, data_dir: Path) -> Running:
    """Stop the network and start it again on the same port over the same folder (an outage and its end)."""
    host, port = serving.stop_for_restart(running)
    return start_in_thread(
        data_dir, host, port, city_code=running.city_code, answer_timeout=running.answer_timeout
    )
