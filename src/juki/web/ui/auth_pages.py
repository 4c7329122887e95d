"""Sign-in (password + one-time code; the CS operator goes on with WebAuthn in webauthn_pages), sign-out, the lock
screen, and the 事務 the clerk acts for."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from juki.domain.errors import DomainError, Unauthenticated, WebAuthnRequired
from juki.services import auth, ui_queries
from juki.web.ui import session as s
from juki.web.ui import webauthn_pages
from juki.web.ui.core import (
    HOME,
    LOGIN,
    Ui,
    UiRedirect,
    UiRoute,
    anonymous_form,
    current,
    juki_of,
    login_page,
    redirect,
    render_html,
    safe_next,
    terminal_of,
)

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]


@router.get("/ui/login")
def login_form(request: Request, next: str | None = None, ended: int = 0) -> Response:
    session = s.read(request)
    if session is not None and session.token is not None:
        raise UiRedirect(safe_next(next))  # signed in (or locked: the page itself sends to the lock)
    notice = "セッションが終了しました。もう一度ログインしてください。" if ended else None
    # A WebAuthn ceremony begun and left is forgotten (its challenge expires unused).
    fresh = replace(session, ceremony=None) if session is not None else s.anonymous()
    return login_page(request, fresh, next=safe_next(next), notice=notice)


@router.post("/ui/login")
async def login(request: Request) -> Response:
    j = juki_of(request)
    session = s.read(request)
    if session is None:  # no form was served with this cookie: start over
        return login_page(request, s.anonymous(), 400, notice="もう一度入力してください。")
    form = await anonymous_form(request, session)
    username = form.get("username", "")[:100]
    st = j.settings
    try:
        token = await run_in_threadpool(
            auth.login,
            j.uow,
            username,
            form.get("password", "")[:1000],
            form.get("otp", "")[:20],
            terminal_of(request),
            st.token_ttl_seconds,
            st.max_failed_logins,
            st.login_rate_limit,
        )
    except WebAuthnRequired:  # the CS operator: the authenticator next, on the same page (webauthn_pages)
        return await webauthn_pages.begin_sign_in(request, session, form, username)
    except DomainError as exc:
        return login_page(
            request, session, exc.status, error=exc.message, username=username, next=form.get("next")
        )
    return redirect(request, safe_next(form.get("next")), s.signed_in(token.access_token))


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    """Sign out (also from the lock screen, to let another clerk sign in): the session is revoked."""
    j = juki_of(request)
    session = s.read(request)
    if session is not None and session.token is not None:
        await anonymous_form(request, session)
        try:
            actor = await run_in_threadpool(
                auth.authenticate, j.uow, session.token, None, terminal_of(request)
            )
        except Unauthenticated:
            pass
        else:
            await run_in_threadpool(auth.logout, j.uow, session.token, actor)
    return redirect(request, LOGIN, clear_session=True)


@router.get("/ui/lock")
async def lock_screen(request: Request, next: str | None = None) -> Response:
    """The lock screen. Reached by the page's timer, the lock button, or the server after the idle period."""
    j = juki_of(request)
    session = s.read(request)
    if session is None or session.token is None:
        raise UiRedirect(LOGIN, clear_session=session is not None)
    try:
        actor = await run_in_threadpool(auth.authenticate, j.uow, session.token, None, terminal_of(request))
    except Unauthenticated:
        raise UiRedirect(f"{LOGIN}?ended=1", clear_session=True) from None
    if not session.locked:
        await run_in_threadpool(ui_queries.record_lock, j.uow, actor)
        session = replace(session, locked=True)
    response = render_html("lock.html", csrf=session.csrf, name=actor.name, next=safe_next(next))
    return s.write(request, response, session)


@router.post("/ui/unlock")
async def unlock(request: Request) -> Response:
    j = juki_of(request)
    session = s.read(request)
    if session is None or session.token is None:
        raise UiRedirect(LOGIN, clear_session=session is not None)
    form = await anonymous_form(request, session)
    target = safe_next(form.get("next"))
    try:
        await run_in_threadpool(
            ui_queries.unlock,
            j.uow,
            session.token,
            form.get("password", "")[:1000],
            j.settings.max_failed_logins,
        )
    except Unauthenticated as exc:
        if exc.field != "password":
            raise UiRedirect(f"{LOGIN}?ended=1", clear_session=True) from None
        actor = await run_in_threadpool(auth.authenticate, j.uow, session.token, None, terminal_of(request))
        response = render_html(
            "lock.html", 401, csrf=session.csrf, name=actor.name, next=target, error=exc.message
        )
        return s.write(request, response, session)
    return redirect(request, target, replace(session, locked=False).touched())


@router.post("/ui/keepalive")
def keepalive(ui: UiDep) -> Response:
    """The page saw the clerk typing: count it as activity (the session's cookie is sent back refreshed)."""
    return s.write(ui.request, Response(status_code=204), ui.session)


@router.post("/ui/procedure")
def choose_procedure(ui: UiDep) -> Response:
    """Act for another 事務 (the policy decides what each allows; a role outside it is refused and logged)."""
    code = str(ui.form.get("procedure", ""))
    auth.authenticate(ui.uow, ui.session.token or "", code, ui.actor.terminal)
    ui.session = replace(ui.session, procedure=code)
    back = safe_next(str(ui.form.get("next") or HOME))
    return ui.redirect(back)


@router.post("/ui/lock")
def lock_now(ui: UiDep) -> Response:
    """The lock button: lock at once (the clerk leaves the counter)."""
    ui_queries.record_lock(ui.uow, ui.actor)
    ui.session = replace(ui.session, locked=True)
    return ui.redirect(f"/ui/lock?next={quote(safe_next(str(ui.form.get('next') or HOME)))}")
