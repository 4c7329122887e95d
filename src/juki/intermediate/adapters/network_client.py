"""The 中間サーバー's client of the 情報提供ネットワークシステム: juki.intermediate.wire's `NetworkClient` over HTTPS
with mutual TLS — the city presents its own certificate (`city.pem`, CN "中間サーバー <市町村コード>") and trusts
only the network's CA for the server.

Answers are read strictly: what is not one of the wire's answers (a refused handshake, a closed port, a timeout,
another status, a body of another shape) is `NetworkUnreachable` and the step is tried again later. An inbox entry
with its place but not the shape of a message is a `MalformedMessage` (the 中間サーバー moves past it); an entry
without a place makes the whole page unusable (the cursor cannot move past what it cannot place). No message here
quotes a value of a message: a 符号 never reaches a log or an error through it.

`info-network.json` says where the network answers and where the PKI folder is: `{"url", "pki"}` (`pki` absolute,
or relative to the JSON's folder).
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from juki.intermediate.wire import (
    ANSWERS_PATH,
    INBOX_PATH,
    MAX_WAIT,
    SERIAL_LENGTH,
    SERIALS_PATH,
    LinkCodeIssued,
    MalformedMessage,
    NetworkUnreachable,
    Query,
    QueryAnswer,
    UnknownQuery,
)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ID_MAX = 64
__all__ = ["HttpNetworkClient", "NetworkConfig", "UnknownQuery", "network_client"]


@dataclass(frozen=True)
class NetworkConfig:
    """`info-network.json`: where the network answers, and the PKI folder."""

    url: str
    pki: Path

    @classmethod
    def read(cls, path: Path) -> NetworkConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{Path(path).name}: cannot be read as JSON ({type(exc).__name__})") from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("url"), str)
            or not isinstance(data.get("pki"), str)
        ):
            raise ValueError(f'{Path(path).name}: expected {{"url": …, "pki": …}}')
        pki = Path(data["pki"]).expanduser()
        return cls(data["url"].rstrip("/"), pki if pki.is_absolute() else Path(path).parent / pki)

    def tls(self, stem: str) -> ssl.SSLContext:
        """Trust the network's CA only, present `<stem>.pem` / `<stem>.key` (city, jlis or client)."""
        context = ssl.create_default_context(cafile=str(self.pki / "ca.pem"))
        context.load_cert_chain(str(self.pki / f"{stem}.pem"), str(self.pki / f"{stem}.key"))
        return context

    def http(self, stem: str, *, timeout: httpx.Timeout | float = TIMEOUT) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls(stem), timeout=timeout)


def call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request; any failure to get an answer is `NetworkUnreachable`, naming what went wrong."""
    try:
        return http.request(method, path, **kwargs)
    except httpx.TimeoutException:
        raise NetworkUnreachable("the network did not answer in time") from None
    except httpx.HTTPError as exc:  # refused connection, refused or failed TLS handshake, broken answer
        raise NetworkUnreachable(f"the network could not be reached: {type(exc).__name__}") from None


def json_object(res: httpx.Response) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        raise NetworkUnreachable(f"the network's answer ({res.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise NetworkUnreachable(f"the network's answer ({res.status_code}) is not a JSON object")
    return body


def _is_text(value: object, limit: int = 1000) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def _message(row: object, after: int) -> LinkCodeIssued | Query | MalformedMessage:
    if not isinstance(row, dict):
        raise NetworkUnreachable("an entry of the inbox is not a JSON object")
    seq = row.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq <= after:
        raise NetworkUnreachable("an entry of the inbox has no place after the cursor")
    kind = row.get("kind")
    if kind == "link_code":
        serial, link_code = row.get("serial"), row.get("link_code")
        if not _is_text(serial, ID_MAX) or not _is_text(link_code, ID_MAX):
            return MalformedMessage(seq, "serial または link_code がありません")
        return LinkCodeIssued(seq, str(serial), str(link_code))
    if kind == "query":
        return _query(seq, row)
    return MalformedMessage(seq, "kind が link_code でも query でもありません")


def _query(seq: int, row: dict[str, Any]) -> Query | MalformedMessage:
    names = ("query_id", "requester", "legal_basis", "information", "link_code")
    limits = {"query_id": ID_MAX, "link_code": ID_MAX}
    missing = [n for n in names if not _is_text(row.get(n), limits.get(n, 1000))]
    if missing:
        return MalformedMessage(seq, f"{', '.join(missing)} がありません")
    items = row.get("items")
    if items is not None and (not isinstance(items, list) or not all(_is_text(i) for i in items)):
        return MalformedMessage(seq, "items が項目名の配列でも null でもありません")
    return Query(
        seq,
        row["query_id"],
        row["requester"],
        row["legal_basis"],
        row["information"],
        None if items is None else tuple(items),
        row["link_code"],
    )


class HttpNetworkClient:
    """`wire.NetworkClient` over the network's mutual-TLS link, as the city's 中間サーバー. Closing it closes the
    link."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    @classmethod
    def from_config(cls, path: Path, *, timeout: httpx.Timeout | float = TIMEOUT) -> HttpNetworkClient:
        """The client `info-network.json` describes (its `pki` folder's ca.pem, city.pem, city.key)."""
        return cls(NetworkConfig.read(path).http("city", timeout=timeout))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpNetworkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new_serial(self, city_code: str) -> str:
        res = call(self._http, "POST", SERIALS_PATH, json={"city_code": city_code})
        if res.status_code != 200:
            raise NetworkUnreachable(f"the network answered {res.status_code}")
        serial = json_object(res).get("serial")
        if not isinstance(serial, str) or len(serial) != SERIAL_LENGTH:
            raise NetworkUnreachable("the network's serial is not one of the wire's length")
        return serial

    def inbox(
        self, city_code: str, after: int, wait: float = 0
    ) -> list[LinkCodeIssued | Query | MalformedMessage]:
        wait = min(max(wait, 0.0), float(MAX_WAIT))
        params = {"city_code": city_code, "after": str(after), "wait": f"{wait:g}"}
        timeout = self._http.timeout
        read = (timeout.read or 0) + wait  # the network holds the answer open up to `wait`
        extended = httpx.Timeout(timeout.connect, read=read, write=timeout.write, pool=timeout.pool)
        res = call(self._http, "GET", INBOX_PATH, params=params, timeout=extended)
        if res.status_code != 200:
            raise NetworkUnreachable(f"the network answered {res.status_code}")
        rows = json_object(res).get("messages")
        if not isinstance(rows, list):
            raise NetworkUnreachable("the network's inbox has no list of messages")
        messages = [_message(row, after) for row in rows]
        places = [m.seq for m in messages]
        if places != sorted(set(places)):
            raise NetworkUnreachable("the network's messages are not in order")
        return messages

    def answer(self, answer: QueryAnswer) -> bool:
        res = call(self._http, "POST", ANSWERS_PATH, json=answer.to_json())
        if res.status_code == 404 and json_object(res).get("code") == "unknown_query":
            raise UnknownQuery("the network has no such query for the city")
        if res.status_code != 200:
            raise NetworkUnreachable(f"the network answered {res.status_code}")
        body = json_object(res)
        duplicate = body.get("duplicate")
        if body.get("query_id") != answer.query_id or not isinstance(duplicate, bool):
            raise NetworkUnreachable("the network's acknowledgement does not match the answer")
        return duplicate


def network_client(config: Path) -> HttpNetworkClient:
    """The 中間サーバー's client as `info-network.json` describes it."""
    return HttpNetworkClient.from_config(config)
