"""The CS operator's WebAuthn pages without a browser: the software authenticator answers the options the page
carries; the UI routes give the services' refusals (and their log entries), bind the ceremony to the browser's
cookie, check CSRF, and open the same sealed session as the password sign-in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from juki.adapters import tables as t
from juki.bootstrap import Juki
from juki.policy.roles import SYSTEM
from juki.services import webauthn
from juki.web.app import create_app
from tests.conftest import PASSWORD, STAFF
from tests.cs.page_support import with_cs
from tests.webauthn_authenticator import SoftAuthenticator

CS = STAFF["cs_operator"][0]


@pytest.fixture
def client(j: Juki, tmp_path: Path) -> Iterator[TestClient]:
    cs = with_cs(j, tmp_path)  # the CS page is the CS operator's first screen
    with TestClient(create_app(j), base_url="http://localhost:8000", follow_redirects=False) as c:
        yield c
    cs.dispose()


def _code(j: Juki, template: Any, username: str = CS) -> str:
    """A one-time code the account has not used yet (each is accepted once)."""
    with j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.username == username).values(last_otp_step=None))
    return pyotp.TOTP(template.secrets[username]).now()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _public_key(html: str) -> dict[str, Any]:
    m = re.search(r"data-public-key='([^']+)'", html)
    assert m, "no WebAuthn options on the page"
    options: dict[str, Any] = json.loads(unescape(m.group(1)))
    return options


def _failed(j: Juki) -> list[str]:
    with j.uow() as uow:
        return [
            str(r.detail)
            for r in uow.queries.operation_log()
            if r.action == "auth:webauthn" and r.result == "failed"
        ]


def _password_and_code(client: TestClient, j: Juki, template: Any) -> Any:
    page = client.get("/ui/login")
    return client.post(
        "/ui/login",
        data={
            "csrf_token": _csrf(page.text),
            "username": CS,
            "password": PASSWORD,
            "otp": _code(j, template),
        },
    )


def _assert_no_inline_code(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style|\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_cs_operator_signs_in_with_the_assertion_into_the_same_sealed_session(client, j, template):  # type: ignore[no-untyped-def]
    step = _password_and_code(client, j, template)
    assert step.status_code == 200 and 'data-webauthn="get"' in step.text
    assert '<script src="/static/webauthn.js" defer></script>' in step.text
    _assert_no_inline_code(step.text)
    options = _public_key(step.text)
    assert options["userVerification"] == "required" and options["rpId"] == "localhost"
    assert "challenge_id" not in step.text  # the ceremony's id stays in the sealed cookie

    answer = template.authenticators[CS].assertion(options)
    res = client.post(
        "/ui/login/webauthn",
        data={
            "csrf_token": _csrf(step.text),
            "credential": json.dumps(answer),
            "next": "/ui/",
            "username": CS,
        },
    )
    assert res.status_code == 303 and res.headers["location"] == "/ui/cs"
    landing = client.get("/ui/cs")
    assert landing.status_code == 200 and "テスト用認証器" in landing.text
    _assert_no_inline_code(landing.text)
    assert client.get("/ui/").headers["location"] == "/ui/cs"  # the front page of a role without the register


def test_an_assertion_without_user_verification_is_refused_logged_and_opens_nothing(client, j, template):  # type: ignore[no-untyped-def]
    step = _password_and_code(client, j, template)
    answer = template.authenticators[CS].assertion(_public_key(step.text), uv=False)
    res = client.post(
        "/ui/login/webauthn", data={"csrf_token": _csrf(step.text), "credential": json.dumps(answer)}
    )
    assert res.status_code == 401 and "生体認証に失敗しました" in res.text and "unauthenticated" in res.text
    assert "sign_in: user_not_verified" in _failed(j)
    # The ceremony is over: the same answer again finds none.
    again = client.post(
        "/ui/login/webauthn", data={"csrf_token": _csrf(res.text), "credential": json.dumps(answer)}
    )
    assert again.status_code == 400 and "手続きが見つかりません" in again.text
    assert client.get("/ui/cs").headers["location"] == "/ui/login"


def test_the_ceremony_belongs_to_the_browser_that_gave_password_and_code(client, j, template):  # type: ignore[no-untyped-def]
    step = _password_and_code(client, j, template)
    answer = template.authenticators[CS].assertion(_public_key(step.text))
    client.cookies.clear()  # another browser, with a login form of its own
    other = client.get("/ui/login")
    res = client.post(
        "/ui/login/webauthn", data={"csrf_token": _csrf(other.text), "credential": json.dumps(answer)}
    )
    assert res.status_code == 400 and "手続きが見つかりません" in res.text
    assert client.get("/ui/cs").headers["location"] == "/ui/login"


def test_posts_without_the_pages_csrf_token_are_refused(client, j, template):  # type: ignore[no-untyped-def]
    step = _password_and_code(client, j, template)
    answer = template.authenticators[CS].assertion(_public_key(step.text))
    assert client.post("/ui/login/webauthn", data={"credential": json.dumps(answer)}).status_code == 403
    assert client.post("/ui/webauthn/enrol", data={"username": CS}).status_code == 403
    assert client.post("/ui/webauthn/enrol/finish", data={"credential": "{}"}).status_code == 403


def test_enrolment_with_the_administrators_code_registers_the_authenticator(client, j, template):  # type: ignore[no-untyped-def]
    code = webauthn.issue_enrolment_code(j.uow, SYSTEM, CS).code
    form = client.get("/ui/webauthn/enrol")
    assert form.status_code == 200 and 'name="enrolment_code"' in form.text
    _assert_no_inline_code(form.text)
    fields = {"csrf_token": _csrf(form.text), "username": CS, "password": PASSWORD, "otp": _code(j, template)}

    wrong = client.post("/ui/webauthn/enrol", data={**fields, "enrolment_code": "AAAA-BBBB-CCCC-DDDD"})
    assert wrong.status_code == 401 and "登録コードが正しくありません" in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert "enrolment_options: unknown_enrolment_code" in _failed(j)

    fields["otp"] = _code(j, template)
    step = client.post("/ui/webauthn/enrol", data={**fields, "enrolment_code": code.lower()})
    assert step.status_code == 200 and 'data-webauthn="create"' in step.text
    _assert_no_inline_code(step.text)
    options = _public_key(step.text)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    key = SoftAuthenticator()
    done = client.post(
        "/ui/webauthn/enrol/finish",
        data={
            "csrf_token": _csrf(step.text),
            "credential": json.dumps(key.register(options)),
            "name": "予備の指紋リーダー",
        },
    )
    assert done.status_code == 200 and "認証器「予備の指紋リーダー」を登録しました" in done.text
    with j.uow() as uow:
        names = [c.name for c in uow.webauthn.credentials_of(CS)]
    assert "予備の指紋リーダー" in names


def test_a_synced_passkey_is_refused_beside_the_form(client, j, template):  # type: ignore[no-untyped-def]
    code = webauthn.issue_enrolment_code(j.uow, SYSTEM, CS).code
    form = client.get("/ui/webauthn/enrol")
    step = client.post(
        "/ui/webauthn/enrol",
        data={
            "csrf_token": _csrf(form.text),
            "username": CS,
            "password": PASSWORD,
            "otp": _code(j, template),
            "enrolment_code": code,
        },
    )
    answer = SoftAuthenticator().register(_public_key(step.text), synced=True)
    res = client.post(
        "/ui/webauthn/enrol/finish", data={"csrf_token": _csrf(step.text), "credential": json.dumps(answer)}
    )
    assert res.status_code == 422 and "同期されるパスキーは登録できません" in res.text
    assert "registration: synced_passkey" in _failed(j)


def test_a_clerk_is_not_sent_to_the_cs_page(client, j, template, totp):  # type: ignore[no-untyped-def]
    page = client.get("/ui/login")
    clerk = STAFF["clerk"][0]
    res = client.post(
        "/ui/login",
        data={"csrf_token": _csrf(page.text), "username": clerk, "password": PASSWORD, "otp": totp(clerk)},
    )
    assert res.headers["location"] == "/ui/"
    cs_page = client.get("/ui/cs")
    assert cs_page.status_code == 403 and "この役割ではこの事務を行えません" in cs_page.text
