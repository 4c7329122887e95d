"""自己情報 (やりとり履歴) in the browser: `/my` for the resident, `/ui/usage-withholdings` for a supervisor.

`/my` signs the resident in with their My Number card as the kiosk does: the page shows a one-time challenge, the
card signs it after the PIN, and the answer comes back (`POST /my/sign-in`). A browser cannot reach the card's chip:
in this simulation the card is `juki sim my-portal --sign <challenge>` on the resident's machine (the card reader's
software), which prints the card's answer — the user certificate and the signature, or the chip's refusal of a wrong
PIN — to paste into the page or upload as a file. The challenge is bound to this browser (a cookie holding its id),
the session is a cookie of its own (`juki_my`: HttpOnly, SameSite=Strict, path `/my`, the session's lifetime), and
the history is the same service's answer as `GET /api/v1/my/usage`.

The page's two forms carry a value the browser's cookie alone does not give, as the staff pages' CSRF token does:
signing in, the challenge's id (the challenge cookie must match it); signing out, `form_token`, derived from the
session's token (HttpOnly, so another site can neither read nor compute it). SameSite=Strict already keeps the
cookies off another site's requests; the values keep a browser that sends them anyway from acting for someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from juki.domain.errors import DomainError, Forbidden, InvalidField
from juki.policy.roles import MY_USAGE_WITHHOLD
from juki.services import my_usage
from juki.web.api_kiosk import desk
from juki.web.api_my import provision_records
from juki.web.ui.core import Ui, UiRoute, current, juki_of, render_html, terminal_of

router = APIRouter(include_in_schema=False)
staff = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

SESSION_COOKIE = "juki_my"
CHALLENGE_COOKIE = "juki_my_challenge"
PATH = "/my"
MAX_ANSWER = 16_000
# The kinds as the page names them (what each is, the page explains beside the table).
KIND_NAMES = {"provision": "提供", "transfer": "庁内連携", "view": "職員の利用"}


def form_token(session: str) -> str:
    """The sign-out form's token: bound to the session, computable only by who holds the session's token."""
    return hashlib.sha256(f"juki-my-sign-out\x1f{session}".encode()).hexdigest()[:32]


def _cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _sign_in_page(request: Request, status: int = 200, **context: Any) -> Response:
    """The sign-in page with a new challenge, bound to this browser."""
    j = juki_of(request)
    challenge = my_usage.new_challenge(j.uow, desk(request).clock)
    response = render_html("my/sign_in.html", status, challenge=challenge, **context)
    _cookie(request, response, CHALLENGE_COOKIE, challenge["challenge_id"], my_usage.CHALLENGE_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/my")
def my_page(request: Request) -> Response:
    """The history of the signed-in resident, or the card sign-in."""
    j = juki_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return _sign_in_page(request, signed_out="signed_out" in request.query_params)
    try:
        actor = my_usage.resident(j.uow, token, terminal_of(request), desk(request).clock)
        history = my_usage.usage(j.uow, actor, provision_records(request))
    except DomainError as exc:
        response = _sign_in_page(request, 401, error=exc.to_dict())
        response.delete_cookie(SESSION_COOKIE, path=PATH)
        return response
    response = render_html(
        "my/usage.html", 200, history=history, kinds=KIND_NAMES, form_token=form_token(token)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _answer(text: str) -> dict[str, Any]:
    """The card's answer as the helper prints it: `{card_certificate, pin_result, signature?}`."""
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidField("カードの応答（JSON）を読み取れません", "card_answer") from None
    if not isinstance(data, dict):
        raise InvalidField("カードの応答（JSON）を読み取れません", "card_answer")
    return {k: data[k] for k in ("card_certificate", "pin_result", "signature") if k in data}


async def _posted_answer(request: Request) -> tuple[str, str]:
    form = await request.form()
    challenge_id = form.get("challenge_id")
    text = form.get("card_answer")
    upload = form.get("card_answer_file")
    if isinstance(upload, UploadFile) and upload.filename:
        text = (await upload.read(MAX_ANSWER + 1)).decode("utf-8", "replace")
    if not isinstance(challenge_id, str) or not isinstance(text, str) or not text.strip():
        raise InvalidField("カードの応答を貼り付けるか、ファイルを選んでください", "card_answer")
    if len(text) > MAX_ANSWER:
        raise InvalidField("カードの応答が大きすぎます", "card_answer")
    return challenge_id, text


@router.post("/my/sign-in")
async def sign_in(request: Request) -> Response:
    try:
        challenge_id, text = await _posted_answer(request)
    except DomainError as exc:
        return await run_in_threadpool(_sign_in_page, request, exc.status, error=exc.to_dict())
    return await run_in_threadpool(
        _signed_in, request, challenge_id, text
    )  # the database: off the event loop


def _signed_in(request: Request, challenge_id: str, text: str) -> Response:
    """The card's answer to this browser's challenge → the session's cookie, or the sign-in page again."""
    j = juki_of(request)
    try:
        expected = request.cookies.get(CHALLENGE_COOKIE, "")
        if not hmac.compare_digest(challenge_id.encode(), expected.encode()):
            raise InvalidField("画面の有効期限が切れました。もう一度お試しください", "challenge_id")
        payload = {"challenge_id": challenge_id, **_answer(text)}
        session = my_usage.sign_in(j.uow, desk(request), payload, terminal_of(request))
    except DomainError as exc:
        return _sign_in_page(request, exc.status, error=exc.to_dict())
    response = RedirectResponse(PATH, status_code=303)
    _cookie(request, response, SESSION_COOKIE, session["session"], my_usage.SESSION_SECONDS)
    response.delete_cookie(CHALLENGE_COOKIE, path=PATH)
    return response


@router.post("/my/sign-out")
def sign_out(request: Request, sent: Annotated[str, Form(alias="form_token")] = "") -> Response:
    j = juki_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token and not hmac.compare_digest(sent.encode(), form_token(token).encode()):
        return RedirectResponse(PATH, status_code=303)  # not this page's form: the session stays as it was
    if token:
        try:
            actor = my_usage.resident(j.uow, token, terminal_of(request), desk(request).clock)
            my_usage.sign_out(j.uow, actor, token, desk(request).clock)
        except DomainError:
            pass  # an ended session signs out as well
    response = RedirectResponse(f"{PATH}?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PATH)
    return response


# --- the supervisor's page --------------------------------------------------------------------------------------


def _withheld_page(ui: Ui, number: str, status: int = 200, **extra: Any) -> Response:
    listed = None
    if number:
        try:
            listed = my_usage.withheld(ui.uow, ui.actor, number, provision_records(ui.request))
        except Forbidden:
            return ui.switch_to("my_usage", f"/ui/usage-withholdings?addressee_number={number}")
        except DomainError as exc:
            if exc.status == 403:
                raise
            return ui.render("my/withheld.html", exc.status, number=number, listed=None, error=exc.to_dict())
    elif not ui.may(MY_USAGE_WITHHOLD):
        return ui.switch_to("my_usage", "/ui/usage-withholdings")
    return ui.render(
        "my/withheld.html",
        status,
        number=number,
        listed=listed,
        kinds=KIND_NAMES,
        **extra,
    )


@staff.get("/ui/usage-withholdings")
def withheld_page(ui: UiDep, addressee_number: str = "") -> Response:
    return _withheld_page(ui, addressee_number.strip()[:20], done=ui.request.query_params.get("done"))


@staff.post("/ui/usage-withholdings/{action}")
def decide(action: str, ui: UiDep) -> Response:
    form = {k: v.strip() for k, v in ui.form.items() if isinstance(v, str)}
    number = form.get("addressee_number", "")[:20]
    try:
        my_usage.decide(ui.uow, ui.actor, action, form, provision_records(ui.request))
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _withheld_page(ui, number, exc.status, error=exc.to_dict())
    return ui.redirect(f"/ui/usage-withholdings?addressee_number={number}&done={action}")


router.include_router(staff)
