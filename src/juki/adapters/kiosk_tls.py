"""The kiosk API over mutually authenticated TLS (uvicorn), and the kiosk side's TLS client context.

uvicorn verifies the client certificate when told to (`ssl_cert_reqs=CERT_REQUIRED`, `ssl_ca_certs=<kiosk CA>`): a
client without a certificate the kiosk CA signed never completes the handshake. But uvicorn does not tell the app
*which* certificate it was; `KioskTLSProtocol` (its HTTP/1.1 protocol, one more step in `connection_made`) passes
the peer's certificate to the app as the ASGI TLS extension (`scope["extensions"]["tls"]`, as Hypercorn does), where
`web/api_kiosk.py` reads it and the kiosk service checks it again.

Production: `juki sim kiosk-server` shows the shape — the same `uvicorn.Config(…, ssl_certfile, ssl_keyfile,
ssl_ca_certs=kiosk-ca.pem, ssl_cert_reqs=ssl.CERT_REQUIRED, http=KioskTLSProtocol)` with the city's real
certificates, on its own port, reachable only from the kiosk network. Or behind a TLS terminator (nginx) that does
the mutual TLS and forwards the certificate in a header, taken only from the addresses in `JUKI_TRUSTED_PROXIES`
(web/api_kiosk.py): then the app is served over plain HTTP, reachable only from the proxy, without uvicorn's proxy
headers (`proxy_headers=False`), so that the peer the app checks is the proxy's own address.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from juki.adapters.pki import KIOSK_CA, SERVER


class WithClientCertificate:
    """The app, seeing this connection's client certificate as the ASGI TLS extension (what a TLS server that
    verified it passes on; tests wrap an app with it to stand for that server)."""

    def __init__(self, app: Any, certificate: str, tls_version: str | None, cipher: str | None) -> None:
        self.app = app
        self.tls = {
            "server_cert": None,
            "client_cert_chain": [certificate],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": tls_version,
            "cipher_suite": cipher,
        }

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), "tls": self.tls}}
        await self.app(scope, receive, send)

    @property
    def state(self) -> Any:  # the app's state, for whoever looks through the wrapper
        return self.app.state


class KioskTLSProtocol(H11Protocol):
    """uvicorn's h11 protocol that hands the verified client certificate to the app (ASGI TLS extension)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = transport.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        if der:
            cipher = tls.cipher()
            self.app = WithClientCertificate(
                self.app, ssl.DER_cert_to_PEM_cert(der), tls.version(), cipher[0] if cipher else None
            )


def server_config(
    app: Any, pki_dir: Path, host: str = "127.0.0.1", port: int = 8443, **extra: Any
) -> uvicorn.Config:
    """uvicorn serving `app` over TLS that requires a client certificate signed by the kiosk CA."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(pki_dir / f"{SERVER}.pem"),
        ssl_keyfile=str(pki_dir / f"{SERVER}.key"),
        ssl_ca_certs=str(pki_dir / f"{KIOSK_CA}.pem"),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        http=KioskTLSProtocol,
        **extra,
    )


class BackgroundServer:
    """A kiosk TLS server in a thread of this process (the simulator and the tests)."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            time.sleep(0.05)
        raise RuntimeError("the kiosk TLS server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def kiosk_client_context(pki_dir: Path, certificate: Path | None, key: Path | None) -> ssl.SSLContext:
    """What a kiosk uses: it trusts the kiosk CA for the server and presents its own certificate (if given)."""
    context = ssl.create_default_context(cafile=str(pki_dir / f"{KIOSK_CA}.pem"))
    if certificate is not None:
        context.load_cert_chain(str(certificate), str(key) if key else None)
    return context
