"""The department systems' OAuth 2.0 endpoints (庁内連携; API.md "Department systems"): `POST /oauth/token` (client
credentials, RFC 6749 §4.4) and `POST /oauth/introspect` (RFC 7662). Form-encoded in, RFC 6749's JSON out (errors
too: `invalid_client`, `invalid_grant`, `invalid_scope` …, never problem+json); the work is Authlib's
(services/transfer_clients.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from juki.services.transfer_clients import Desk, TokenRequest
from juki.web.api import juki

router = APIRouter(tags=["oauth"])

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 16_384  # a client assertion is a few hundred bytes


def desk(request: Request) -> Desk:
    """One desk per application (the transfer key file is read once)."""
    found: Desk | None = getattr(request.app.state, "transfer_desk", None)
    if found is None:
        from juki.transfer.wiring import desk_for

        found = request.app.state.transfer_desk = desk_for(juki(request))
    return found


def _form_body(description: str, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields, "required": required}
    return {
        "requestBody": {"required": True, "description": description, "content": {FORM: {"schema": schema}}}
    }


_TOKEN_FIELDS = {
    "grant_type": {"type": "string", "enum": ["client_credentials"]},
    "scope": {"type": "string", "example": "juki:transfer-changes:read"},
    "client_id": {"type": "string"},
    "client_assertion_type": {
        "type": "string",
        "example": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    },
    "client_assertion": {"type": "string"},
}
_INTROSPECT_FIELDS = {"token": {"type": "string"}, "token_type_hint": {"type": "string"}}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "RFC 6749 §5.1 / RFC 7662 §2.2", "content": {"application/json": {}}},
    400: {"description": "RFC 6749 §5.2 error", "content": {"application/json": {}}},
    401: {"description": "invalid_client", "content": {"application/json": {}}},
}


async def _request(request: Request) -> TokenRequest | JSONResponse:
    """The form as Authlib reads it; a body that is not one flat form is `invalid_request` (RFC 6749 §5.2)."""
    bad = JSONResponse({"error": "invalid_request"}, status_code=400, headers={"Cache-Control": "no-store"})
    if not request.headers.get("content-type", "").startswith(FORM):
        return bad
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return bad
    try:
        form = await request.form()
    except Exception:  # an unreadable body: refused as a malformed request, never a 500
        return bad
    pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    names = [k for k, _ in pairs]
    if len(pairs) != len(form.multi_items()) or len(set(names)) != len(names):
        return bad  # RFC 6749 §3.2: parameters MUST NOT be included more than once
    term = request.client.host if request.client else "unknown"
    uri = str(request.url.replace(query=""))
    return TokenRequest(uri, request.headers, dict(pairs), term)


def _answer(result: tuple[int, dict[str, Any], list[tuple[str, str]]]) -> JSONResponse:
    status, body, headers = result
    answer = JSONResponse(body, status_code=status, headers=dict(headers))
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["Pragma"] = "no-cache"
    if status == 401:
        answer.headers["WWW-Authenticate"] = 'Basic realm="juki"'
    return answer


@router.post(
    "/oauth/token",
    responses=_ANSWERS,
    openapi_extra=_form_body(
        "RFC 6749 §4.4 (client_secret_jwt or client_secret_basic)", _TOKEN_FIELDS, ["grant_type"]
    ),
)
async def token(request: Request) -> JSONResponse:
    """An access token for a department system (client credentials; no refresh token)."""
    parsed = await _request(request)
    if isinstance(parsed, JSONResponse):
        return parsed
    return _answer(await run_in_threadpool(desk(request).token, parsed))


@router.post(
    "/oauth/introspect",
    responses=_ANSWERS,
    openapi_extra=_form_body("RFC 7662 §2.1", _INTROSPECT_FIELDS, ["token"]),
)
async def introspect(request: Request) -> JSONResponse:
    """Whether a token is active, for the client it was issued to (any other token: `{"active": false}`)."""
    parsed = await _request(request)
    if isinstance(parsed, JSONResponse):
        return parsed
    return _answer(await run_in_threadpool(desk(request).introspect, parsed))
