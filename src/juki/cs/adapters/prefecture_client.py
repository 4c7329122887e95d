"""The CS's client of the prefecture server (都道府県サーバ): juki.cs.wire's `PrefectureClient` over HTTPS with mutual
TLS (the seed's 相互認証): the CS presents its client certificate and trusts only the 住基ネット CA for the server.

Every answer is read strictly: what is not one of the wire's answers (another status, a body that is not the
expected JSON, an acknowledgement of another person or sequence) is no answer — `Unreachable`, like a refused
handshake, a closed port or a timeout — and the notice is tried again later. `Unreachable`'s message names what
went wrong, never an item's value.

`juki-net.json` (shared/spec/API.md, 住基ネット) says where the prefecture answers and where the PKI folder is:
`{"url": "https://127.0.0.1:<port>", "pki": "<folder>"}` (`pki` absolute, or relative to the JSON's folder); the
folder holds `ca.pem`, `client.pem` and `client.key`.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from juki.cs.wire import Accepted, Notice, Refused, Unreachable

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REFUSAL_CODES = {
    409: frozenset({"out_of_order", "sequence_reused"}),
    422: frozenset({"format_error", "logic_error", "unknown_resident_code"}),
}
MESSAGE_LIMIT = 500


def mutual_tls_context(ca: Path, certificate: Path, key: Path) -> ssl.SSLContext:
    """Trust the 住基ネット CA only (not the system's), present the CS's own certificate."""
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(certificate), str(key))
    return context


def _json(res: httpx.Response) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        raise Unreachable(f"the prefecture's answer ({res.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise Unreachable(f"the prefecture's answer ({res.status_code}) is not a JSON object")
    return body


def _accepted(body: dict[str, Any], notice: Notice) -> Accepted:
    duplicate = body.get("duplicate")
    if (
        body.get("resident_code") != notice.resident_code
        or body.get("sequence") != notice.sequence
        or not isinstance(duplicate, bool)
    ):
        raise Unreachable("the prefecture's acknowledgement does not match the notice")
    return Accepted(duplicate=duplicate)


def _refused(status: int, body: dict[str, Any]) -> Refused:
    code, item, message = body.get("code"), body.get("item"), body.get("message")
    if code not in REFUSAL_CODES[status] or not isinstance(message, str):
        raise Unreachable(f"the prefecture's refusal ({status}) is not one the wire knows")
    if item is not None and not isinstance(item, str):
        raise Unreachable(f"the prefecture's refusal ({status}) names no item")
    expected = body.get("expected")
    if code == "out_of_order" and isinstance(expected, int) and not isinstance(expected, bool):
        message = f"{message} (expected {expected})"
    return Refused(code=str(code), item=item, message=message[:MESSAGE_LIMIT])


class HttpsPrefectureClient:
    """`PrefectureClient` over mutual TLS. One connection pool; `close` it (or use it as a context manager)."""

    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url.rstrip("/")
        self._http = http

    @classmethod
    def over_mutual_tls(
        cls,
        url: str,
        ca: Path,
        certificate: Path,
        key: Path,
        *,
        timeout: httpx.Timeout | float = TIMEOUT,
    ) -> HttpsPrefectureClient:
        context = mutual_tls_context(ca, certificate, key)
        return cls(url, httpx.Client(verify=context, timeout=timeout))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpsPrefectureClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, object] | None = None,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request over the link; any failure to get an answer is `Unreachable`. Other clients of the
        住基ネット (the national server, other cities) speak through it too."""
        try:
            if content is not None:
                return self._http.request(method, self.url + path, content=content, params=params)
            return self._http.request(method, self.url + path, json=body, params=params)
        except httpx.TimeoutException:
            raise Unreachable("the prefecture did not answer in time") from None
        except httpx.HTTPError as exc:  # refused connection, refused or failed TLS handshake, broken answer
            raise Unreachable(f"the prefecture could not be reached: {type(exc).__name__}: {exc}") from None

    def send(self, notice: Notice) -> Accepted | Refused:
        res = self.call("POST", "/prefecture/v1/notices", notice.to_json())
        if res.status_code == 200:
            return _accepted(_json(res), notice)
        if res.status_code in REFUSAL_CODES:
            return _refused(res.status_code, _json(res))
        raise Unreachable(f"the prefecture answered {res.status_code}")

    def identity(self, resident_code: str) -> dict[str, object] | None:
        """The prefecture's answer as it is (`{"resident_code", "sequence", "items"}`), None on 404."""
        res = self.call("GET", f"/prefecture/v1/identity/{quote(resident_code, safe='')}")
        if res.status_code == 404:
            return None
        if res.status_code != 200:
            raise Unreachable(f"the prefecture answered {res.status_code}")
        body = _json(res)
        if body.get("resident_code") != resident_code or not isinstance(body.get("items"), dict):
            raise Unreachable("the prefecture's answer is not the identity asked for")
        return body


@dataclass(frozen=True)
class JukiNetConfig:
    """`juki-net.json`: where the prefecture server answers and the PKI folder."""

    url: str
    pki: Path

    @classmethod
    def read(cls, path: Path) -> JukiNetConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("url"), str)
            or not isinstance(data.get("pki"), str)
        ):
            raise ValueError(f'{path.name}: expected {{"url": …, "pki": …}}')
        pki = Path(data["pki"]).expanduser()
        return cls(data["url"], pki if pki.is_absolute() else path.parent / pki)

    def client(self, *, timeout: httpx.Timeout | float = TIMEOUT) -> HttpsPrefectureClient:
        return HttpsPrefectureClient.over_mutual_tls(
            self.url, self.pki / "ca.pem", self.pki / "client.pem", self.pki / "client.key", timeout=timeout
        )


def client_from_config(path: Path) -> HttpsPrefectureClient:
    """The CS's client as `juki-net.json` describes it."""
    return JukiNetConfig.read(path).client()
