"""What every clerk-UI page shares: templates and their filters, the signed-in context (idle lock, CSRF), and one
place that turns errors into pages (the app's JSON error handler is for `/api/v1`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from juki.bootstrap import Juki
from juki.domain.dates import JST, format_date, to_wareki, today_jst
from juki.domain.errors import DomainError, Forbidden, InvalidDate, Unauthenticated
from juki.policy.roles import (
    CERTIFICATE_ISSUE,
    CS_OPERATE,
    INTERMEDIATE_READ,
    LOG_READ,
    PROCEDURES,
    PROTECTION_VIEW,
    REGISTER_FILE,
    REGISTER_READ,
    STAFF_ADMIN,
    SUBJECT_REQUEST_FILE,
    Actor,
    allows,
    procedures_for,
)
from juki.services import auth, ui_queries
from juki.web.ui import labels
from juki.web.ui.forms import collect
from juki.web.ui.session import UiSession, anonymous, clear, csrf_matches, read, write

LOGIN = "/ui/login"
LOCK = "/ui/lock"
HOME = "/ui/"
CS_HOME = "/ui/cs"  # the CS operator's first screen (the 住基ネット side's pages are still to come)


def home_of(actor: Actor) -> str:
    """The first screen of the actor's work: the search, or the CS operator's page (by permission, not role)."""
    return CS_HOME if actor.may(CS_OPERATE) and not actor.may(REGISTER_READ) else HOME


# --- templates --------------------------------------------------------------------------------------------


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(JST).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def wareki(value: Any) -> str:
    """An ISO date (or date) as 令和6年4月1日; what is not a date is shown as it is."""
    d = _date(value)
    if d is None:
        return "" if value in (None, "") else str(value)
    try:
        return to_wareki(d)
    except InvalidDate:
        return d.isoformat()


def seireki(value: Any) -> str:
    """A date in the western calendar, written the Japanese way: 2028年6月1日 (a foreign resident's dates, j90)."""
    d = _date(value)
    return "" if d is None else format_date(d, western=True)


def birth(person: Any) -> str:
    """A person's (a record's, as a mapping) birth date as certificates print it — western for a foreign resident
    (j90), the unknown parts blank or the 不詳日 as written (j80) — and then, when any part is unknown, the internal
    date the register keeps: 「昭和10年　月日不詳（内部の日付 昭和10年1月1日）」."""
    d = _date(person.get("birth_date"))
    if d is None:
        return ""
    unknown = tuple(person.get("birth_date_unknown_parts") or ())
    western = bool(person.get("foreign"))
    try:
        shown = person.get("birth_date_unknown") or format_date(d, unknown, western)
        internal = format_date(d, western=western)
    except InvalidDate:
        return d.isoformat()
    return shown if shown == internal else f"{shown}（内部の日付 {internal}）"


def jst(value: Any) -> str:
    """A stored timestamp (UTC) as Japan time: 令和7年6月2日 10:31."""
    if value in (None, ""):
        return ""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(JST)
    return f"{wareki(at.date())} {at:%H:%M}"


def grouped(number: str | None) -> str:
    """12 digits as the card shows them: 1234 5678 9012."""
    if not number:
        return ""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("juki.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(
    wareki=wareki,
    seireki=seireki,
    birth=birth,
    jst=jst,
    grouped=grouped,
    sex=labels.sex,
    status=labels.status,
    kind=labels.kind,
    field_label=labels.field,
)
_env.globals.update(
    labels=labels,
    PROCEDURES=PROCEDURES,
    pairs=lambda items: [(v, v) for v in items],
    has_prefix=lambda mapping, prefix: any(
        str(k).startswith(prefix) and v not in ("", None, []) for k, v in (mapping or {}).items()
    ),
)


def render_html(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


# --- the signed-in context --------------------------------------------------------------------------------


def juki_of(request: Request) -> Juki:
    j: Juki = request.app.state.juki
    return j


def terminal_of(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:100]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None) -> str:
    """Only a path of this UI (never another site) to go back to after the lock or sign-in."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return HOME
    return parts.path + (f"?{parts.query}" if parts.query else "")


class UiRedirect(Exception):
    """Leave this page: to the sign-in or lock screen, or on after a POST (PRG)."""

    def __init__(self, url: str, session: UiSession | None = None, clear_session: bool = False) -> None:
        super().__init__(url)
        self.url = url
        self.session = session
        self.clear_session = clear_session

    def response(self, request: Request) -> Response:
        return redirect(request, self.url, self.session, self.clear_session)


class CsrfRefused(Exception):
    pass


def redirect(
    request: Request, url: str, session: UiSession | None = None, clear_session: bool = False
) -> Response:
    """303 for a page; for htmx, `HX-Redirect` so the whole page moves (not a fragment swapped in)."""
    response: Response
    if is_htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if clear_session:
        clear(request, response)
    elif session is not None:
        write(request, response, session)
    return response


@dataclass
class Ui:
    """One signed-in request: who acts (for which 事務), the session to send back, the form as posted."""

    request: Request
    j: Juki
    session: UiSession
    actor: Actor
    form: dict[str, Any] = field(default_factory=dict)
    _staff: dict[str, str] | None = field(default=None, repr=False)

    @property
    def uow(self) -> Any:
        return self.j.uow

    def today(self) -> date:
        return self.j.today or today_jst()

    def may(self, permission: str) -> bool:
        return self.actor.may(permission)

    def staff_name(self, staff_id: str | None) -> str:
        """Who entered, checked or decided something, by name (the id stays in the log and the API)."""
        if not staff_id:
            return ""
        if self._staff is None:
            self._staff = ui_queries.staff_names(self.uow)
        return self._staff.get(staff_id, staff_id)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "ui": self,
            "actor": self.actor,
            "csrf": self.session.csrf,
            "staff_name": self.staff_name,
            "idle_seconds": self.j.settings.idle_lock_seconds,
            "procedures": [(c, PROCEDURES[c].name) for c in procedures_for(self.actor.role)],
            "nav": {
                "register": self.may(REGISTER_READ),
                "file": self.may(REGISTER_FILE),
                "issue": self.may(CERTIFICATE_ISSUE),  # reading the record does not issue certificates
                "audit": self.may(LOG_READ),
                "protection": allows(self.actor.role, PROTECTION_VIEW, "protection"),
                "requests": allows(self.actor.role, SUBJECT_REQUEST_FILE, "subject_request"),
                "cs": self.may(CS_OPERATE),
                "intermediate": allows(self.actor.role, INTERMEDIATE_READ, "intermediate"),  # 中間サーバー
                "kiosks": self.may(STAFF_ADMIN),  # コンビニ交付端末, 証明書の設定
            },
            "home": home_of(self.actor),
            "path": self.request.url.path,
            "here": safe_next(_here(self.request)) if self.request.method == "GET" else HOME,
            "today": self.today(),
            **extra,
        }

    def switch_to(self, procedure: str, target: str) -> Response:
        """A screen of another 事務: say so, and offer to act for it (the policy decides if the role may).

        The front page (search) of a role whose first screen is another one (the CS operator's) sends there.
        """
        home = home_of(self.actor)
        if safe_next(target) == HOME and home != HOME:
            return self.redirect(home)
        name = PROCEDURES[procedure].name
        allowed = procedure in procedures_for(self.actor.role)
        return self.render("switch.html", 403, procedure=procedure, name=name, target=target, allowed=allowed)

    def render(self, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
        return write(self.request, render_html(template, status, **self.context(**extra)), self.session)  # type: ignore[return-value]

    def redirect(self, url: str) -> Response:
        return redirect(self.request, url, self.session)


async def _form(request: Request) -> tuple[dict[str, Any], str | None]:
    if request.method != "POST":
        return {}, None
    raw = await request.form()
    token = raw.get("csrf_token")
    return collect((k, v) for k, v in raw.multi_items() if isinstance(v, str)), (
        token if isinstance(token, str) else None
    )


def _here(request: Request) -> str:
    if request.method == "GET" and not is_htmx(request):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = urlsplit(request.headers.get("hx-current-url") or HOME)  # the page an htmx request came from
    return page.path + (f"?{page.query}" if page.query else "")


async def current(request: Request) -> Ui:
    """The dependency of every signed-in page: the session, the idle lock, CSRF on every POST, the actor.

    The idle lock is the server's: a request after `idle_lock_seconds` without activity gets the lock screen
    whatever the browser runs; the page's timer only shows it sooner.
    """
    j = juki_of(request)
    session = read(request)
    if session is None or session.token is None:
        raise UiRedirect(LOGIN, clear_session=session is not None)
    token = session.token
    form, sent = await _form(request)
    if request.method == "POST" and not csrf_matches(session, sent or request.headers.get("x-csrf-token")):
        raise CsrfRefused
    now = time.time()
    if session.locked or session.idle_for(now) > j.settings.idle_lock_seconds:
        await _lock(request, j, session)
        locked = replace(session, locked=True)
        raise UiRedirect(f"{LOCK}?next={quote(safe_next(_here(request)))}", session=locked)
    try:
        actor = await run_in_threadpool(
            auth.authenticate, j.uow, token, session.procedure, terminal_of(request)
        )
    except Unauthenticated:
        raise UiRedirect(f"{LOGIN}?ended=1", clear_session=True) from None
    except Forbidden:  # the chosen 事務 is no longer the role's: back to the role's own
        session = replace(session, procedure=None)
        actor = await run_in_threadpool(auth.authenticate, j.uow, token, None, terminal_of(request))
    return Ui(request, j, session.touched(now), actor, form)


async def _lock(request: Request, j: Juki, session: UiSession) -> None:
    """Log the lock once, when it engages (a locked session's further requests add nothing)."""
    token = session.token
    if session.locked or token is None:
        return
    try:
        actor = await run_in_threadpool(auth.authenticate, j.uow, token, None, terminal_of(request))
    except DomainError:
        return
    await run_in_threadpool(ui_queries.record_lock, j.uow, actor)


def session_or_new(request: Request) -> UiSession:
    return read(request) or anonymous()


def login_page(request: Request, session: UiSession, status: int = 200, **context: Any) -> Response:
    """The sign-in form (also with the refusal of a sign-in, beside what was typed)."""
    response = render_html("login.html", status, csrf=session.csrf, **context)
    return write(request, response, session)


async def anonymous_form(request: Request, session: UiSession | None) -> dict[str, str]:
    """A form posted before the clerk is signed in (or while locked): its CSRF secret is the cookie's."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_matches(session, form.get("csrf_token")):
        raise CsrfRefused
    return form


# --- errors as pages --------------------------------------------------------------------------------------


async def error_page(request: Request, status: int, message: str, code: str | None = None) -> Response:
    """What went wrong, in the normal layout: a signed-in clerk keeps the menu (検索 and the rest), the 事務 and
    sign-out; anyone else gets the way to the sign-in page."""
    session = read(request)
    context = await _layout_of(request, session)
    response = render_html(
        "error.html",
        status,
        message=message,
        code=code,
        signed_in=bool(session and session.token),
        **context,
    )
    if session is not None:
        write(request, response, session)
    return response


async def _layout_of(request: Request, session: UiSession | None) -> dict[str, Any]:
    """The signed-in layout's context, or nothing for a locked, idle or ended session (those see no menu)."""
    j = juki_of(request)
    if session is None or not session.token or session.locked:
        return {}
    if session.idle_for(time.time()) > j.settings.idle_lock_seconds:
        return {}
    try:
        actor = await run_in_threadpool(
            auth.authenticate, j.uow, session.token, session.procedure, terminal_of(request)
        )
    except Exception:  # an error page must not fail in turn (the database may be what failed)
        return {}
    return Ui(request, j, session, actor).context()


class UiRoute(APIRoute):
    """Every UI route answers with a page, also when something goes wrong."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except UiRedirect as exc:
                return exc.response(request)
            except CsrfRefused:
                return await error_page(
                    request,
                    403,
                    "画面の有効期限が切れたか、別の画面から送信されました。画面を開き直してから操作してください。",
                    "csrf",
                )
            except DomainError as exc:
                return await error_page(request, exc.status, exc.message, exc.code)
            except RequestValidationError:
                return await error_page(request, 422, "入力の形式が正しくありません", "invalid_field")

        return handler
