"""The CS operator in the browser: enrolment with an administrator's code, then sign-in with password,
one-time code and a WebAuthn assertion — Chromium's virtual authenticator over CDP standing in for the fingerprint
reader. WebAuthn needs a host name (not an IP address) that matches the relying-party id, so this server is
opened as http://localhost:<port> with `webauthn_rp_id="localhost"` and the matching origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from sqlalchemy import update

from juki.adapters import tables as t
from juki.policy.roles import Actor
from juki.services import webauthn
from tests.ui.conftest import PASSWORD, Live, _free_port, _serve, _stop, csp_violations


@pytest.fixture(scope="module")
def live_rp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A served register that is the relying party `localhost` at http://localhost:<port>."""
    port = _free_port()
    origin = f"http://localhost:{port}"
    live = _serve(
        tmp_path_factory.mktemp("ui-webauthn") / "register.db",
        port=port,
        host="localhost",
        webauthn_rp_id="localhost",
        webauthn_origin=origin,
    )
    yield live
    _stop(live)


def _authenticator(page, user_verified: bool = True) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    """A virtual platform authenticator (CTAP2, internal, resident keys, user verification) for the page's browser."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def _code(live: Live, username: str) -> str:
    """A one-time code the account has not used yet (each is accepted once; the replay guard is tested elsewhere)."""
    with live.j.engine.begin() as conn:
        conn.execute(update(t.staff).where(t.staff.c.username == username).values(last_otp_step=None))
    return pyotp.TOTP(live.accounts[username]).now()


def _log(live: Live, action: str) -> list[dict[str, object]]:
    with live.j.uow() as uow:
        return [dict(r._mapping) for r in uow.queries.operation_log() if r.action == action]


def _enrolment_code(live: Live, admin: str, username: str) -> str:
    return webauthn.issue_enrolment_code(live.j.uow, Actor(admin, "管理者", "admin", "test"), username).code


def _enrol(page, live: Live, username: str, code: str, otp: str, shot=None) -> None:  # type: ignore[no-untyped-def]
    """From the sign-in page to a registered authenticator, by keyboard."""
    page.goto(live.url + "/ui/login")
    page.get_by_role("link", name="認証器の登録（登録コードをお持ちの方）").click()
    page.wait_for_url(re.compile(r".*/ui/webauthn/enrol$"))
    page.locator("#username").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(otp)
    page.keyboard.press("Tab")
    page.keyboard.type(code)
    if shot:
        shot(page, "enrol-form")
    page.keyboard.press("Enter")
    page.locator("#name:focus").wait_for()
    page.keyboard.type("窓口端末3の指紋リーダー")
    if shot:
        shot(page, "enrol-authenticator")
    page.keyboard.press("Enter")  # the script asks the authenticator, then posts its answer
    page.locator(".success").wait_for()


def _password_and_code(page, live: Live, username: str, otp: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live.url + "/ui/login")
    page.locator("#username").fill(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(otp)
    page.keyboard.press("Enter")


def test_a_cs_operator_enrols_with_the_administrators_code_and_signs_in_with_the_authenticator(
    live_rp: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    admin = live_rp.account("admin", "管理 四郎")
    cs = live_rp.account("cs_operator", "CS 五郎")
    code = _enrolment_code(live_rp, admin, cs)

    page = new_page()
    _authenticator(page)
    _enrol(page, live_rp, cs, code, _code(live_rp, cs), shot)
    assert "窓口端末3の指紋リーダー" in page.locator(".success").inner_text()
    shot(page, "enrolled")
    assert any(str(e["detail"]).startswith("registration:") for e in _log(live_rp, "auth:webauthn"))

    # Sign-in: password and code, then the authenticator — on the same page, without another key press.
    _password_and_code(page, live_rp, cs, _code(live_rp, cs))
    page.wait_for_url(re.compile(r".*/ui/cs$"))
    assert "住基ネット（市町村CS）に関する事務" in page.locator("h1").inner_text()
    credentials = page.locator("table.credentials").inner_text()
    assert "窓口端末3の指紋リーダー" in credentials and "有効" in credentials
    shot(page, "cs-landing", full_page=True)
    assert any(
        e["staff_id"] == cs and e["result"] == "webauthn_required" for e in _log(live_rp, "auth:login")
    )
    signed = [e for e in _log(live_rp, "auth:webauthn") if str(e["detail"]).startswith("sign_in:")]
    assert [e["result"] for e in signed] == ["ok"]

    # The front page of a role without the register is its own page (not a switch to nowhere).
    page.goto(live_rp.url + "/ui/")
    page.wait_for_url(re.compile(r".*/ui/cs$"))
    assert csp_violations(page) == []

    # The authenticator is lost: deactivating it ends the session it opened, and it opens no other.
    page.locator("summary", has_text="無効にする").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="この認証器を無効にする").click()
    page.wait_for_url(re.compile(r".*/ui/login\?ended=1$"))
    _password_and_code(page, live_rp, cs, _code(live_rp, cs))
    refusal = page.locator("#login-error").inner_text()
    assert "認証器が登録されていません" in refusal and "webauthn_required" in refusal
    assert page.get_by_role("link", name="認証器を登録する").is_visible()
    shot(page, "deactivated-refused")
    entries = _log(live_rp, "auth:webauthn")
    assert any(str(e["detail"]).startswith("deactivate:") for e in entries)
    assert any(
        e["detail"] == "sign_in_options: no_authenticator" and e["result"] == "failed" for e in entries
    )


def test_a_cs_operator_is_refused_without_a_verified_assertion_from_the_enrolled_authenticator(
    live_rp: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    admin = live_rp.account("admin", "管理 七郎")
    cs = live_rp.account("cs_operator", "CS 八郎")
    page = new_page()
    cdp, authenticator = _authenticator(page)
    _enrol(page, live_rp, cs, _enrolment_code(live_rp, admin, cs), _code(live_rp, cs))

    # A copy of the key on another authenticator (a cloned one): its signature counter lags behind the original's.
    [key] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    other = new_page()
    other_cdp, clone = _authenticator(other)
    other_cdp.send("WebAuthn.addCredential", {"authenticatorId": clone, "credential": key})
    _password_and_code(page, live_rp, cs, _code(live_rp, cs))
    page.wait_for_url(re.compile(r".*/ui/cs$"))  # the original signs in

    _password_and_code(other, live_rp, cs, _code(live_rp, cs))
    other.locator("#login-error").wait_for()  # the clone's assertion reached the server, which refused it
    assert "生体認証に失敗しました" in other.locator("#login-error").inner_text()
    shot(other, "clone-refused")
    reasons = [e["detail"] for e in _log(live_rp, "auth:webauthn") if e["result"] == "failed"]
    assert "sign_in: sign_count_not_increased" in reasons
    other.goto(live_rp.url + "/ui/cs")
    other.wait_for_url(re.compile(r".*/ui/login$"))  # no session was opened

    # The finger is not recognised: the authenticator gives no assertion at all, and the page says so.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url(re.compile(r".*/ui/login$"))
    _password_and_code(page, live_rp, cs, _code(live_rp, cs))
    error = page.locator("#webauthn-error")
    error.filter(has_text="本人確認ができませんでした").wait_for()
    assert page.get_by_role("button", name="生体認証でログイン").is_enabled()  # to try again
    shot(page, "not-verified")
    page.goto(live_rp.url + "/ui/cs")
    page.wait_for_url(re.compile(r".*/ui/login$"))
    assert csp_violations(page) == [] and csp_violations(other) == []


def test_opened_at_another_address_the_page_says_where_the_authenticator_answers(
    live_rp: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    admin = live_rp.account("admin", "管理 九郎")
    cs = live_rp.account("cs_operator", "CS 十郎")
    page = new_page()
    _authenticator(page)
    _enrol(page, live_rp, cs, _enrolment_code(live_rp, admin, cs), _code(live_rp, cs))
    by_ip = Live(live_rp.url.replace("localhost", "127.0.0.1"), live_rp.j, live_rp.server, live_rp.thread)
    by_ip.accounts = live_rp.accounts
    _password_and_code(page, by_ip, cs, _code(live_rp, cs))
    error = page.locator("#webauthn-error")
    error.filter(has_text=live_rp.url).wait_for()
    assert "の画面でだけ使えます" in error.inner_text()
    shot(page, "wrong-address")
