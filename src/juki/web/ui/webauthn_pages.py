"""WebAuthn in the clerk UI: the CS operator's sign-in with an authenticator, enrolment with an
administrator's one-time code, and the deactivation of a lost authenticator (the CS page, cs_pages.py, lists them).

The ceremonies are the services' (services/webauthn.py), as `/api/v1/auth/webauthn/…` uses them: the server checks
password and one-time code and issues the challenge; the page's script (static/webauthn.js) hands the options to
`navigator.credentials` and posts the authenticator's answer back in a form field, with the page's CSRF token; the
server verifies it and opens the session exactly as the password sign-in does (a sealed cookie around the token).
The challenge id stays in the sealed cookie (`UiSession.ceremony`): only the browser that gave the password and
the code can finish the ceremony it began. Every step, success or refusal, is logged by the services.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from juki.domain.errors import DomainError, WebAuthnRequired
from juki.policy.roles import CS_OPERATE
from juki.services import auth, webauthn
from juki.web.ui import session as s
from juki.web.ui.core import (
    CS_HOME,
    HOME,
    Ui,
    UiRoute,
    anonymous_form,
    current,
    home_of,
    juki_of,
    login_page,
    redirect,
    render_html,
    safe_next,
    terminal_of,
)

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
ENROL = "/ui/webauthn/enrol"
_AUTHENTICATE = "authenticate"
_REGISTER = "register"
_MAX_CREDENTIAL = 64 * 1024  # the services refuse a larger answer too
_AGAIN = "最初からやり直してください。"
_NEXT_CODE = "ワンタイムコードは一度しか使えません。次に表示されるコードを入力してください。"


def _rp(request: Request) -> webauthn.RelyingParty:
    return webauthn.RelyingParty.from_settings(juki_of(request).settings)


def _challenge(session: s.UiSession | None, purpose: str) -> str | None:
    """The challenge id of the ceremony this browser began for `purpose`, if any."""
    if session is None or not session.ceremony:
        return None
    kind, _, challenge_id = session.ceremony.partition(":")
    return challenge_id if kind == purpose and challenge_id else None


def _credential(form: dict[str, str]) -> dict[str, Any]:
    """The authenticator's answer as the page's script posted it (JSON); anything else is an empty answer, which
    the services refuse and log like any wrong one."""
    raw = form.get("credential", "")
    if len(raw) > _MAX_CREDENTIAL:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _ceremony_page(
    request: Request,
    session: s.UiSession,
    template: str,
    ceremony: webauthn.Ceremony,
    purpose: str,
    **context: Any,
) -> Response:
    session = replace(session, ceremony=f"{purpose}:{ceremony.challenge_id}")
    response = render_html(
        template,
        csrf=session.csrf,
        public_key=ceremony.public_key,
        expires_at=ceremony.expires_at,
        origin=_rp(request).origin,  # the one address where the authenticator answers (WebAuthn's rule)
        **context,
    )
    return s.write(request, response, session)


# --- sign-in: password and one-time code (auth_pages.login), then the authenticator ----------------------------


async def begin_sign_in(
    request: Request, session: s.UiSession, form: dict[str, str], username: str
) -> Response:
    """Password and code were right but the role needs the authenticator: issue the challenge (the services check
    password and code again, and use the code up) and go on in the page."""
    j = juki_of(request)
    st = j.settings
    next_ = safe_next(form.get("next"))
    try:
        ceremony = await run_in_threadpool(
            webauthn.sign_in_options,
            j.uow,
            _rp(request),
            username,
            form.get("password", "")[:1000],
            form.get("otp", "")[:20],
            terminal_of(request),
            st.max_failed_logins,
            st.login_rate_limit,
        )
    except DomainError as exc:
        return login_page(
            request,
            session,
            exc.status,
            error=exc.message,
            error_code=exc.code,
            not_enrolled=isinstance(exc, WebAuthnRequired),
            username=username,
            next=next_,
        )
    return _ceremony_page(
        request, session, "login_webauthn.html", ceremony, _AUTHENTICATE, username=username, next=next_
    )


@router.post("/ui/login/webauthn")
async def finish_sign_in(request: Request) -> Response:
    """The authenticator's assertion: verified by the services, then the UI session opens as with a password."""
    j = juki_of(request)
    session = s.read(request)
    if session is None:
        return login_page(request, s.anonymous(), 400, notice="もう一度入力してください。")
    form = await anonymous_form(request, session)
    username = form.get("username", "")[:100]
    next_ = safe_next(form.get("next"))
    challenge_id = _challenge(session, _AUTHENTICATE)
    session = replace(session, ceremony=None)
    if challenge_id is None:
        notice = "生体認証の手続きが見つかりません。" + _AGAIN
        return login_page(request, session, 400, notice=notice, username=username, next=next_)
    st = j.settings
    try:
        token = await run_in_threadpool(
            webauthn.sign_in,
            j.uow,
            _rp(request),
            challenge_id,
            _credential(form),
            terminal_of(request),
            st.token_ttl_seconds,
            st.max_failed_logins,
        )
    except DomainError as exc:
        return login_page(
            request,
            session,
            exc.status,
            error=exc.message,
            error_code=exc.code,
            error_hint=_NEXT_CODE,
            username=username,
            next=next_,
        )
    if next_ == HOME:  # the role's own first screen (the CS operator has no search)
        actor = await run_in_threadpool(
            auth.authenticate, j.uow, token.access_token, None, terminal_of(request)
        )
        next_ = home_of(actor)
    return redirect(request, next_, s.signed_in(token.access_token))


# --- enrolment with an administrator's code ----------------------------------------------------------------------


def _enrol_page(request: Request, session: s.UiSession, status: int = 200, **context: Any) -> Response:
    response = render_html("webauthn_enrol.html", status, csrf=session.csrf, step="form", **context)
    return s.write(request, response, session)


@router.get(ENROL)
def enrol_form(request: Request) -> Response:
    session = s.read(request) or s.anonymous()
    return _enrol_page(request, replace(session, ceremony=None))


@router.post(ENROL)
async def enrol_options(request: Request) -> Response:
    """User name, password, one-time code and the enrolment code: a registration ceremony for the browser."""
    j = juki_of(request)
    session = s.read(request)
    if session is None:
        return _enrol_page(request, s.anonymous(), 400, notice="もう一度入力してください。")
    form = await anonymous_form(request, session)
    username = form.get("username", "")[:100]
    st = j.settings
    try:
        ceremony = await run_in_threadpool(
            webauthn.enrolment_options,
            j.uow,
            _rp(request),
            username,
            form.get("password", "")[:1000],
            form.get("otp", "")[:20],
            form.get("enrolment_code", "")[:100],
            terminal_of(request),
            st.max_failed_logins,
            st.login_rate_limit,
        )
    except DomainError as exc:
        return _enrol_page(request, session, exc.status, username=username, error=exc.to_dict())
    return _ceremony_page(
        request, session, "webauthn_enrol.html", ceremony, _REGISTER, step="create", username=username
    )


@router.post(f"{ENROL}/finish")
async def enrol_finish(request: Request) -> Response:
    """The authenticator's attestation: verified and stored by the services (the enrolment code is used up)."""
    j = juki_of(request)
    session = s.read(request)
    if session is None:
        return _enrol_page(request, s.anonymous(), 400, notice="もう一度入力してください。")
    form = await anonymous_form(request, session)
    username = form.get("username", "")[:100]
    challenge_id = _challenge(session, _REGISTER)
    session = replace(session, ceremony=None)
    if challenge_id is None:
        return _enrol_page(
            request, session, 400, username=username, notice="登録の手続きが見つかりません。" + _AGAIN
        )
    try:
        added = await run_in_threadpool(
            webauthn.register,
            j.uow,
            _rp(request),
            challenge_id,
            _credential(form),
            form.get("name", "").strip()[:100] or None,
            terminal_of(request),
            j.settings.max_failed_logins,
        )
    except DomainError as exc:
        return _enrol_page(
            request, session, exc.status, username=username, error=exc.to_dict(), notice=_NEXT_CODE
        )
    response = render_html("webauthn_enrol.html", csrf=session.csrf, step="done", added=added)
    return s.write(request, response, session)


# --- the CS operator's authenticators (listed on the CS page, cs_pages.py) ---------------------------------------


@router.post("/ui/webauthn/credentials/{credential_id}/deactivate")
def deactivate(credential_id: str, ui: UiDep) -> Response:
    """Deactivate a lost or replaced authenticator (the services refuse another's and end the sessions it opened)."""
    webauthn.deactivate(ui.uow, ui.actor, credential_id[:1400])
    back = CS_HOME if ui.may(CS_OPERATE) else HOME
    return ui.redirect(f"{back}?done=deactivated")
