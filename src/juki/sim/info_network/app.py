"""The simulated 情報提供ネットワークシステム's HTTP API (served only over mutual TLS, server.py), exactly as
juki.intermediate.wire describes it: serials and inbox for the city's 中間サーバー, 符号 issued at J-LIS's request,
照会 by the requesting bodies forwarded to the city and answered with the city's answer.

Each endpoint serves one kind of caller, told by the common name of its verified client certificate (the TLS
layer passes it on, server.py); any other caller is refused `403 not_allowed`. A city sees and answers only its own
inbox and its own 照会.

Every endpoint is `async`, so that all of them run on the server's one event loop: a write wakes the requests that
wait for it (a long-polled inbox, a requester waiting for its answer) through one `asyncio.Event`. The log names
query ids and statuses, never a 住民票コード or a 符号.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from juki.domain.intake import CITY_CODE
from juki.intermediate.wire import (
    ANSWERED,
    ANSWERS_PATH,
    CITY_CN_PREFIX,
    DELIVERIES_PATH,
    INBOX_PATH,
    JLIS_CN,
    LINK_CODE_MISSING,
    LINK_CODES_PATH,
    MAX_WAIT,
    NO_ANSWER,
    NO_LINK_CODE,
    QUERIES_PATH,
    REQUESTER_CN,
    SERIALS_PATH,
    STATUSES,
    QueryAnswer,
)
from juki.sim.info_network.store import InfoNetworkStore, NewQuery, Refusal, random_text
from juki.sim.juki_net.checks import is_resident_code

log = logging.getLogger("juki.sim.info_network")

ANSWER_TIMEOUT = 15.0  # seconds a requester waits for the city's answer
TEXT_MAX = 200
_CITY_CODE = re.compile(r"[0-9]{6}")
T = TypeVar("T")


def _invalid(message: str) -> Refusal:
    return Refusal(422, "invalid_field", message)


NOT_ALLOWED = Refusal(403, "not_allowed", "この証明書ではこの機能を利用できません")


@lru_cache(maxsize=64)
def _common_name(pem: str) -> str | None:
    names = x509.load_pem_x509_certificate(pem.encode()).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def caller(request: Request) -> str | None:
    """The common name of the client certificate the TLS layer verified (None: none was passed on)."""
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return _common_name(chain[0]) if chain else None


def _city_of_caller(request: Request) -> str:
    name = caller(request) or ""
    code = name[len(CITY_CN_PREFIX) :]
    if not name.startswith(CITY_CN_PREFIX) or not _CITY_CODE.fullmatch(code):
        raise NOT_ALLOWED
    return code


def _must_be(request: Request, common_name: str) -> None:
    if caller(request) != common_name:
        raise NOT_ALLOWED


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _invalid("本文が JSON ではありません") from None
    if not isinstance(body, dict):
        raise _invalid("本文が JSON オブジェクトではありません")
    return body


def _text(body: dict[str, Any], name: str, *, limit: int = TEXT_MAX) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _invalid(f"{name} がありません")
    return value


def _city_code(value: object) -> str:
    if not isinstance(value, str) or not _CITY_CODE.fullmatch(value):
        raise _invalid("city_code は6桁の市町村コードです")
    return value


def _items(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _invalid("items は項目名の配列か null です")
    return tuple(value)


def _data(value: object, status: str) -> dict[str, str | None] | None:
    if status != ANSWERED:
        if value is not None:
            raise _invalid("data は answered の回答にだけ付けます")
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise _invalid("data は項目名と値（文字列か null）の対応です")
    return value


class Notifier:
    """One event for every write: a waiter takes the event, looks, and sleeps until the next write or its
    deadline. (All on the event loop's thread: no lock needed.)"""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, look: Callable[[], T | None], seconds: float) -> T | None:
        deadline = time.monotonic() + seconds
        while True:
            event = self._event
            found = look()
            left = deadline - time.monotonic()
            if found is not None or left <= 0:
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)


class InfoNetwork:
    """The endpoints' work over the store: each method takes the request and returns the wire's answer."""

    def __init__(self, store: InfoNetworkStore, city_code: str, answer_timeout: float) -> None:
        self.store, self.city_code, self.answer_timeout = store, city_code, answer_timeout
        self.notifier = Notifier()

    async def serial(self, request: Request) -> dict[str, Any]:
        city = _city_of_caller(request)
        if _city_code((await _body(request)).get("city_code")) != city:
            raise NOT_ALLOWED
        return {"serial": self.store.new_serial(city)}

    async def link_code(self, request: Request) -> dict[str, Any]:
        _must_be(request, JLIS_CN)
        body = await _body(request)
        serial, city = _text(body, "serial", limit=64), _city_code(body.get("city_code"))
        resident_code = body.get("resident_code")
        if not is_resident_code(resident_code):
            raise _invalid("resident_code は11桁の住民票コードです")
        duplicate = self.store.issue_link_code(serial, city, str(resident_code))
        if not duplicate:
            self.notifier.changed()
        log.info("符号 issued to city %s for a serial%s", city, " (again)" if duplicate else "")
        return {"serial": serial, "duplicate": duplicate}

    async def inbox(self, request: Request) -> dict[str, Any]:
        city = _city_of_caller(request)
        params = request.query_params
        if _city_code(params.get("city_code")) != city:
            raise NOT_ALLOWED
        try:
            after, wait = int(params.get("after", "0")), float(params.get("wait", "0"))
        except ValueError:
            raise _invalid("after と wait は数です") from None
        if after < 0 or not 0 <= wait <= MAX_WAIT:
            raise _invalid(f"after は0以上、wait は0から{MAX_WAIT}秒です")
        messages = await self.notifier.until(lambda: self.store.inbox(city, after) or None, wait)
        return {"messages": messages or []}

    async def answer(self, request: Request) -> dict[str, Any]:
        city = _city_of_caller(request)
        body = await _body(request)
        query_id, status, message = _text(body, "query_id", limit=64), body.get("status"), body.get("message")
        if status not in STATUSES or not isinstance(message, str):
            raise _invalid(
                "status は answered・refused・pending・no_link_code のいずれか、message は文字列です"
            )
        answer = QueryAnswer(query_id, str(status), _data(body.get("data"), str(status)), message)
        duplicate = self.store.answer(city, answer)
        if not duplicate:
            self.notifier.changed()
        log.info(
            "query %s answered by city %s: %s%s", query_id[:64], city, status, " (again)" if duplicate else ""
        )
        return {"query_id": query_id, "duplicate": duplicate}

    async def query(self, request: Request) -> JSONResponse:
        _must_be(request, REQUESTER_CN)
        body = await _body(request)
        query_id = body.get("query_id")
        if query_id is None:
            query_id = "Q" + random_text(19)
        elif not isinstance(query_id, str) or not query_id.strip() or len(query_id) > 64:
            raise _invalid("query_id は64文字までの文字列か null です")
        requester, basis = _text(body, "requester"), _text(body, "legal_basis", limit=1000)
        information, items = _text(body, "information"), _items(body.get("items"))
        link_code, city = self._where(body)
        asked = NewQuery(query_id, requester, basis, information, items, link_code or "", city)
        if link_code is None:
            answer = QueryAnswer(query_id, NO_LINK_CODE, None, LINK_CODE_MISSING)
            self.store.answered_by_network(asked, answer)
            log.info("query %s answered by the network: %s", query_id[:64], NO_LINK_CODE)
            return JSONResponse(answer.to_json())
        row = self.store.ask(asked)
        self.notifier.changed()
        log.info("query %s sent to city %s", query_id[:64], city)
        found = await self.notifier.until(lambda: self.store.answer_of(row), self.answer_timeout)
        found = found or self.store.give_up(row)
        if found is None:
            log.info("query %s: no answer from city %s", query_id[:64], city)
            return JSONResponse({"code": "no_answer", "message": NO_ANSWER}, status_code=504)
        return JSONResponse(found.to_json())

    def _where(self, body: dict[str, Any]) -> tuple[str | None, str]:
        """The 符号 and the city a query goes to: the 符号 issued for the 住民票コード (None: none issued), or the
        one given as is (to the city that holds it, else to the network's own city)."""
        if ("resident_code" in body) == ("link_code" in body):
            raise _invalid("resident_code か link_code のどちらか一方を指定します")
        if "link_code" in body:
            given = _text(body, "link_code", limit=64)
            return given, self.store.city_of(given) or self.city_code
        code = body.get("resident_code")
        if not isinstance(code, str) or not re.fullmatch(r"[0-9]{11}", code):
            raise _invalid("resident_code は11桁の住民票コードです")
        held = self.store.link_code_of(code)
        return (None, self.city_code) if held is None else (held[1], held[0])

    async def deliveries(self, request: Request) -> dict[str, Any]:
        _must_be(request, REQUESTER_CN)
        query_id = request.query_params.get("query_id")
        if not query_id:
            raise _invalid("query_id を指定します")
        return {"query_id": query_id, "deliveries": self.store.deliveries(query_id)}


def create_app(
    store: InfoNetworkStore, *, city_code: str = CITY_CODE, answer_timeout: float = ANSWER_TIMEOUT
) -> FastAPI:
    """The network's API; `city_code`: the city a query with an unknown 符号 goes to."""
    app = FastAPI(
        title="情報提供ネットワークシステム (simulated)", docs_url=None, redoc_url=None, openapi_url=None
    )
    network = InfoNetwork(store, city_code, answer_timeout)
    app.state.store, app.state.network = store, network

    @app.exception_handler(Refusal)
    async def refused(request: Request, refusal: Refusal) -> JSONResponse:
        return JSONResponse(refusal.body(), status_code=refusal.status)

    routes: list[tuple[str, str, Callable[[Request], Any]]] = [
        ("POST", SERIALS_PATH, network.serial),
        ("POST", LINK_CODES_PATH, network.link_code),
        ("GET", INBOX_PATH, network.inbox),
        ("POST", ANSWERS_PATH, network.answer),
        ("POST", QUERIES_PATH, network.query),
        ("GET", DELIVERIES_PATH, network.deliveries),
    ]
    for method, path, endpoint in routes:
        app.add_api_route(path, endpoint, methods=[method])
    return app
