"""The one error handler: domain errors and schema errors become application/problem+json.

A schema error is listed by `schemas.problems`, which the clerk's forms use too: the same input is refused with
the same code, field and message on both.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from juki.domain.errors import DomainError
from juki.web import hardening, schemas
from juki.web.ui.core import error_page

log = logging.getLogger("juki.web")
PROBLEM = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    500: "Internal Server Error",
}


def problem(
    status: int, detail: str, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "type": f"https://juki.example/problems/{errors[0]['code'] if errors else status}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "errors": errors,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# No character below U+0020 (nor DEL) belongs in a URL anyone types; NUL in particular cannot be stored as text by
# PostgreSQL, so it is refused here, once, before any route or query sees it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _url_has_control_characters(request: Request) -> bool:
    query = unquote_plus(request.scope.get("query_string", b"").decode("latin-1"))
    return bool(_CONTROL.search(request.scope.get("path", "")) or _CONTROL.search(query))


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _refuse_control_characters(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if _url_has_control_characters(request):
            message = "URL に制御文字は使えません"
            if _is_ui(request):
                return await _ui_error(request, 404)
            return problem(422, message, [{"code": "invalid_field", "field": None, "message": message}])
        return await call_next(request)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.message, [exc.to_dict()], headers)

    @app.exception_handler(RequestValidationError)
    async def _schema(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The same list a clerk's form shows for the same input (schemas.problems); never the input itself.
        return problem(422, "入力の形式が正しくありません", schemas.problems(exc.errors())[:50])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_ui(request) and exc.status_code in _UI_MESSAGES:  # a page asked for by a person: a page
            return await _ui_error(request, exc.status_code)
        if exc.status_code == 400:  # a body FastAPI could not parse at all (not UTF-8, nested too deep)
            message = "リクエストの本文を解釈できません"
            return problem(422, message, [{"code": "invalid_field", "field": None, "message": message}])
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "invalid_field"
        )
        return problem(
            exc.status_code, str(exc.detail), [{"code": code, "field": None, "message": str(exc.detail)}]
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled error: %s", type(exc).__name__)  # no message: it may carry personal data
        if _is_ui(request):
            return hardening.apply(request, await _ui_error(request, 500))
        return hardening.apply(request, problem(500, "システムエラーが発生しました", []))


_UI_MESSAGES = {
    404: ("ページが見つかりません。メニューから操作をやり直してください", "not_found"),
    405: ("この画面ではその操作はできません", "invalid_field"),
    500: ("システムエラーが発生しました。しばらくしてからやり直してください", None),
}


def _is_ui(request: Request) -> bool:
    return request.url.path.startswith("/ui/")


async def _ui_error(request: Request, status: int) -> Response:
    message, code = _UI_MESSAGES[status]
    return await error_page(request, status, message, code)
