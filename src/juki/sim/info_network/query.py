"""A requesting body's side of the simulated network (`juki sim info-network query`): one 照会 sent with the
requesters' certificate (`client.pem`, CN "照会機関"), and the answers the network delivered later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from juki.intermediate.adapters.network_client import NetworkConfig, call, json_object
from juki.intermediate.wire import (
    DELIVERIES_PATH,
    NO_ANSWER,
    QUERIES_PATH,
    STATUSES,
    NetworkUnreachable,
    QueryAnswer,
)
from juki.sim.info_network.app import ANSWER_TIMEOUT

INFORMATION = "住民票関係情報"


class NoAnswer(NetworkUnreachable):
    """The network answered `504 no_answer`: the city did not answer in time."""


class QueryRefused(Exception):
    """The network refused the 照会 as sent (`422 invalid_field`, `403 not_allowed`): `code` and its message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class Ask:
    """A 照会: who asks (`requester`, `legal_basis` as in the 照会許可照合リスト), about whom (a 住民票コード, or a
    符号 as is), for what (`information`, `items` None: every item)."""

    requester: str
    legal_basis: str
    resident_code: str | None = None
    link_code: str | None = None
    information: str = INFORMATION
    items: tuple[str, ...] | None = None
    query_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query_id": self.query_id,
            "requester": self.requester,
            "legal_basis": self.legal_basis,
            "information": self.information,
            "items": None if self.items is None else list(self.items),
        }
        if self.link_code is not None:
            body["link_code"] = self.link_code
        else:
            body["resident_code"] = self.resident_code
        return body


def _requester(config_path: Path, timeout: float) -> httpx.Client:
    try:
        config = NetworkConfig.read(config_path)
    except ValueError as exc:
        raise NetworkUnreachable(str(exc)) from None
    return config.http("client", timeout=httpx.Timeout(timeout, connect=5.0))


def send_query(config_path: Path, ask: Ask, *, timeout: float = ANSWER_TIMEOUT + 15) -> QueryAnswer:
    """Send the 照会 and return the answer (the city's, or the network's `no_link_code`). `NoAnswer` when the
    city did not answer in time, `NetworkUnreachable` when the network could not be reached, `QueryRefused` when it
    refused the 照会 as sent."""
    with _requester(config_path, timeout) as http:
        res = call(http, "POST", QUERIES_PATH, json=ask.to_json())
    body = json_object(res)
    if res.status_code == 504 and body.get("code") == "no_answer":
        raise NoAnswer(str(body.get("message") or NO_ANSWER))
    if res.status_code in (403, 422) and isinstance(body.get("code"), str):
        raise QueryRefused(str(body["code"]), str(body.get("message") or ""))
    if res.status_code != 200:
        raise NetworkUnreachable(f"the network answered {res.status_code}")
    return _answer(body)


def _answer(body: dict[str, Any]) -> QueryAnswer:
    query_id, status, data, message = (body.get(k) for k in ("query_id", "status", "data", "message"))
    if not isinstance(query_id, str) or status not in STATUSES or not isinstance(message, str):
        raise NetworkUnreachable("the network's answer is not one of the wire's")
    if data is not None and not isinstance(data, dict):
        raise NetworkUnreachable("the network's answer holds data of another shape")
    return QueryAnswer(query_id, str(status), data, message)


def deliveries(config_path: Path, query_id: str, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The answers the network delivered after the first for `query_id` (a held answer released or refused)."""
    with _requester(config_path, timeout) as http:
        res = call(http, "GET", DELIVERIES_PATH, params={"query_id": query_id})
    rows = json_object(res).get("deliveries") if res.status_code == 200 else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise NetworkUnreachable(f"the network answered {res.status_code} without deliveries")
    return rows
