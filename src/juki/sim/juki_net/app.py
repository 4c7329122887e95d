"""The simulated 住基ネット's HTTP API (served only over mutual TLS, server.py):

- the prefecture server (都道府県サーバ): `POST /prefecture/v1/notices` (the wire of juki.cs.wire) and
  `GET /prefecture/v1/identity/{resident_code}` (shared/spec/API.md, 住基ネット);
- the national server (全国サーバ, J-LIS): `GET /national/v1/identity/{resident_code}`, its copy of what the
  prefecture forwarded;
- J-LIS's numbers (jlis.py): blocks of 住民票コード, 個人番号 requests and their answers, the 送付先情報, and the cities'
  符号取得の要求 passed on to the 情報提供ネットワークシステム named by `info_network` (an `info-network.json`; none:
  J-LIS answers that it cannot reach the network, and the cities ask again).

The log says which notice was received and what was answered: never an item's value, nor the 住民票コード.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from juki.sim.juki_net import cities, consistency, jlis, national
from juki.sim.juki_net.checks import Problem, is_resident_code, parse
from juki.sim.juki_net.store import JukiNetStore

log = logging.getLogger("juki.sim.juki_net")


def _identity(store: JukiNetStore, code: str, *, national: bool) -> JSONResponse:
    held = store.held(code, national=national) if is_resident_code(code) else None
    if held is None:
        return JSONResponse(
            {"code": "not_found", "message": "本人確認情報を保有していません"}, status_code=404
        )
    return JSONResponse({"resident_code": code, "sequence": held.sequence, "items": held.items})


async def _notice(store: JukiNetStore, request: Request) -> JSONResponse:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        body = None
    try:
        notice = parse(body)
        duplicate = store.receive(notice)
    except Problem as problem:
        notice_id = body.get("notice_id") if isinstance(body, dict) else None
        log.info("notice %s refused: %s (%s)", str(notice_id)[:64], problem.code, problem.item or "-")
        return JSONResponse(problem.body(), status_code=problem.status)
    log.info(
        "notice %s (%s, sequence %d) %s",
        notice.notice_id[:64],
        notice.kind.value,
        notice.sequence,
        "acknowledged again" if duplicate else "applied",
    )
    return JSONResponse(
        {"resident_code": notice.resident_code, "sequence": notice.sequence, "duplicate": duplicate}
    )


def create_app(
    store: JukiNetStore,
    info_network: Path | None = None,
    *,
    issue_link_code: jlis.IssueLinkCode | None = None,
) -> FastAPI:
    """The API over `store`. J-LIS reaches the network through `issue_link_code` when given (tests), else through
    the network simulator's link configured by `info_network`, else not at all."""
    app = FastAPI(title="住基ネット (simulated)", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    if issue_link_code is None and info_network is not None:
        issue_link_code = jlis.network_link(info_network)

    @app.post("/prefecture/v1/notices")
    async def notices(request: Request) -> JSONResponse:
        return await _notice(store, request)

    @app.get("/prefecture/v1/identity/{resident_code}")
    def prefecture_identity(resident_code: str) -> JSONResponse:
        return _identity(store, resident_code, national=False)

    @app.get("/national/v1/identity/{resident_code}")
    def national_identity(resident_code: str) -> JSONResponse:
        return _identity(store, resident_code, national=True)

    for part in (national, consistency, cities):
        app.include_router(part.router(store))
    app.include_router(jlis.router(store, issue_link_code))
    return app
