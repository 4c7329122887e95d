"""The clerk UI's session without a browser: cookie flags, CSRF on every POST, the server's idle lock, sign-in
form (API.md), and pages that hold no inline script or style (the CSP refuses them)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.web.app import create_app
from juki.web.ui import session as ui_session
from tests import factories as f
from tests.conftest import PASSWORD, STAFF
from tests.e2e.role_cases.common import CLERK


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(client: TestClient, totp, role: str = "clerk") -> str:  # type: ignore[no-untyped-def]
    username = STAFF[role][0]
    client.cookies.clear()  # a new browser
    page = client.get("/ui/login")
    res = client.post(
        "/ui/login",
        data={
            "csrf_token": _csrf(page.text),
            "username": username,
            "password": PASSWORD,
            "otp": totp(username),
        },
    )
    assert res.status_code == 303 and res.headers["location"] == "/ui/", res.text
    return _csrf(client.get("/ui/", follow_redirects=True).text)  # the auditor's front page is the log


def _log(j: Juki, action: str) -> list[object]:
    with j.uow() as uow:
        return [r for r in uow.queries.operation_log() if r.action == action]


def test_the_front_page_is_the_sign_in_form_in_japanese(client):  # type: ignore[no-untyped-def]
    res = client.get("/", follow_redirects=True)
    assert res.status_code == 200 and res.url.path == "/ui/login"
    assert '<html lang="ja">' in res.text
    for name in ("username", "password", "otp"):
        assert f'name="{name}"' in res.text


def test_the_session_cookie_is_httponly_samesite_strict_and_secure_over_https(client, totp):  # type: ignore[no-untyped-def]
    cookie = client.get("/ui/login").headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    behind_proxy = client.get("/ui/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert "Secure" in behind_proxy
    tls = client.get("https://testserver/ui/login").headers["set-cookie"]
    assert "Secure" in tls and "HttpOnly" in tls and "SameSite=strict" in tls


def test_every_post_needs_the_sessions_csrf_token(client, totp, j):  # type: ignore[no-untyped-def]
    number = _move_in(j)
    csrf = sign_in(client, totp)
    url = f"/ui/residents/{number}/my-number"
    assert client.post(url).status_code == 403
    assert client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": csrf[:-1] + "x"}).status_code == 403
    assert client.post(url, data={"csrf_token": csrf}).status_code == 200
    assert client.post(url, headers={"X-CSRF-Token": csrf, "HX-Request": "true"}).status_code == 200  # htmx
    assert client.post("/ui/filings/move-in/confirm", data={}).status_code == 403
    assert client.post("/ui/logout", data={}).status_code == 403


def test_the_login_form_has_its_own_csrf_token(client, totp):  # type: ignore[no-untyped-def]
    client.get("/ui/login")
    username = STAFF["clerk"][0]
    res = client.post(
        "/ui/login",
        data={"csrf_token": "forged", "username": username, "password": PASSWORD, "otp": totp(username)},
    )
    assert res.status_code == 403
    assert client.get("/ui/").status_code == 303  # still signed out


def test_a_wrong_sign_in_is_told_in_japanese_without_saying_which_part(client):  # type: ignore[no-untyped-def]
    page = client.get("/ui/login")
    res = client.post(
        "/ui/login",
        data={"csrf_token": _csrf(page.text), "username": "clerk1", "password": "wrong", "otp": "000000"},
    )
    assert res.status_code == 401
    assert "ユーザー名、パスワードまたはワンタイムコードが正しくありません" in unescape(res.text)


def test_the_cookie_is_sealed_a_copy_is_no_bearer_token_and_a_forged_one_signs_nobody_in(client, totp):  # type: ignore[no-untyped-def]
    sign_in(client, totp)
    sealed = client.cookies.get(ui_session.COOKIE)
    assert sealed
    api = client.get("/api/v1/households/0000000019", headers={"Authorization": f"Bearer {sealed}"})
    assert api.status_code == 401
    client.cookies.set(ui_session.COOKIE, sealed[:-4] + "AAAA", path="/ui")
    assert client.get("/ui/").headers["location"] == "/ui/login"


def test_a_request_after_the_idle_period_gets_the_lock_screen_until_the_password(
    client, totp, j, monkeypatch
):  # type: ignore[no-untyped-def]
    csrf = sign_in(client, totp)
    number = _move_in(j)
    later = time.time() + j.settings.idle_lock_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    res = client.get(f"/ui/residents/{number}")
    assert res.status_code == 303 and res.headers["location"].startswith("/ui/lock?next=")
    posted = client.post(f"/ui/residents/{number}/my-number", data={"csrf_token": csrf})  # nothing shown
    assert posted.status_code == 303 and posted.headers["location"].startswith("/ui/lock")
    lock = client.get(res.headers["location"])
    assert "画面はロックされています" in lock.text
    assert len([e for e in _log(j, "ui:lock") if e.staff_id == STAFF["clerk"][0]]) == 1  # logged once
    assert client.get("/ui/approvals").headers["location"].startswith("/ui/lock")
    wrong = client.post("/ui/unlock", data={"csrf_token": csrf, "password": "wrong", "next": "/ui/"})
    assert wrong.status_code == 401 and "パスワードが正しくありません" in wrong.text
    ok = client.post(
        "/ui/unlock", data={"csrf_token": csrf, "password": PASSWORD, "next": f"/ui/residents/{number}"}
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/ui/residents/{number}"
    assert client.get(f"/ui/residents/{number}").status_code == 200


def test_typing_without_requests_keeps_the_session_alive_through_the_pages_keepalive(
    client, totp, j, monkeypatch
):  # type: ignore[no-untyped-def]
    csrf = sign_in(client, totp)
    start = time.time()
    idle = j.settings.idle_lock_seconds
    monkeypatch.setattr(time, "time", lambda: start + idle * 2 / 3)
    alive = client.post("/ui/keepalive", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert alive.status_code == 204
    monkeypatch.setattr(
        time, "time", lambda: start + idle * 4 / 3
    )  # idle since sign-in, not since the keepalive
    assert client.get("/ui/").status_code == 200
    monkeypatch.setattr(time, "time", lambda: start + idle * 3)
    assert client.get("/ui/").headers["location"].startswith("/ui/lock")


def test_unlock_never_leaves_this_ui(client, totp):  # type: ignore[no-untyped-def]
    csrf = sign_in(client, totp)
    client.post("/ui/lock", data={"csrf_token": csrf, "next": "/ui/"})
    for target in ("https://evil.example/", "//evil.example/ui/", "/api/v1/residents", "/ui/\\evil"):
        ok = client.post("/ui/unlock", data={"csrf_token": csrf, "password": PASSWORD, "next": target})
        assert ok.headers["location"] == "/ui/", target
        client.post("/ui/lock", data={"csrf_token": csrf})


def test_wrong_passwords_at_the_lock_screen_end_the_session(client, totp, j):  # type: ignore[no-untyped-def]
    csrf = sign_in(client, totp)
    client.post("/ui/lock", data={"csrf_token": csrf})
    for _ in range(j.settings.max_failed_logins - 1):
        assert client.post("/ui/unlock", data={"csrf_token": csrf, "password": "wrong"}).status_code == 401
    last = client.post("/ui/unlock", data={"csrf_token": csrf, "password": "wrong"})
    assert last.status_code == 303 and last.headers["location"] == "/ui/login?ended=1"
    assert [e.result for e in _log(j, "ui:unlock")].count("failed") == j.settings.max_failed_logins


def test_sign_out_revokes_the_session(client, totp):  # type: ignore[no-untyped-def]
    csrf = sign_in(client, totp)
    sealed = client.cookies.get(ui_session.COOKIE)
    assert client.post("/ui/logout", data={"csrf_token": csrf}).headers["location"] == "/ui/login"
    client.cookies.set(ui_session.COOKIE, sealed, path="/ui")  # the old cookie, kept by someone
    assert client.get("/ui/").headers["location"] == "/ui/login?ended=1"


def test_pages_hold_no_inline_script_style_or_event_handler(client, totp, j):  # type: ignore[no-untyped-def]
    number = _move_in(j)
    csrf = sign_in(client, totp)
    pages = [
        "/ui/login",
        "/ui/",
        f"/ui/residents/{number}",
        "/ui/approvals",
        "/ui/filings?late=1",
        *[f"/ui/filings/{k}/new?addressee_number={number}" for k in ("death", "ex-officio-correction")],
        "/ui/filings/move-in/new",
    ]
    searched = client.post("/ui/search", data={"csrf_token": csrf, "name": "ヤマダ", "birth_date": "S55.4.1"})
    for path, res in [(p, client.get(p, follow_redirects=True)) for p in pages] + [("search", searched)]:
        assert res.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", res.text), path
        assert not re.search(r"<style|\sstyle=", res.text), path
        assert not re.search(r"\son[a-z]+=", res.text), path
        assert res.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")


def test_a_my_number_is_never_in_a_page_until_revealed(client, totp, j):  # type: ignore[no-untyped-def]
    number = _move_in(j)
    with j.uow() as uow:
        my_number = uow.queries.resident(number).my_number
    csrf = sign_in(client, totp)
    page = client.get(f"/ui/residents/{number}").text
    assert my_number not in page.replace(" ", "")
    shown = client.post(f"/ui/residents/{number}/my-number", data={"csrf_token": csrf}).text
    assert my_number in shown.replace(" ", "")


def _move_in(j: Juki) -> str:
    from juki.services import filings

    return str(filings.file(j.uow, CLERK, "move-in", f.move_in([f.person()])).changes[0]["addressee_number"])
