"""証明書の設定 and the 文字超過リスト in the clerk UI: the administrator changes the settings (a new version, a reason,
errors beside their fields), the counter sees them read-only and its form opens with the kind's defaults ticked; an
overflowing field is flagged on the result page and listed, with the list printable as a PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient

from juki.bootstrap import Juki
from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import certificates, filings
from juki.web.app import create_app
from tests import factories as f
from tests.e2e.role_cases.common import CLERK
from tests.e2e.test_certificate_settings import LONG_KATAGAKI, resident_with_long_katagaki
from tests.ui.conftest import Live, csp_violations
from tests.ui.conftest import sign_in as browser_sign_in
from tests.ui.test_certificates_pages import _error, _form_values, _post
from tests.ui.test_session import sign_in

ADMIN = Actor("admin1", "管理 太郎", "admin", "test")


@pytest.fixture
def client(j: Juki) -> Iterator[TestClient]:
    with TestClient(create_app(j), follow_redirects=False) as c:
        yield c


def _settings_form(client: TestClient) -> dict[str, str]:
    page = client.get("/ui/certificates/settings")
    assert page.status_code == 200, page.text
    values = _form_values(page.text)
    values["printers"] = unescape(
        re.search(r'name="printers"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    )
    return values


def test_the_administrator_changes_the_settings_and_the_counters_form_follows(client, totp, j):
    csrf = sign_in(client, totp, "admin")
    values = _settings_form(client)
    assert values["version"] == "0" and values["mayor.title"] == "東京都小平市長"
    values.update(
        {
            "kinds.residence_certificate.include.history": "1",
            "kinds.residence_certificate.signer": "acting",
            "printers": "窓口01=プリンタ001\n窓口02=プリンタ002",
            "reason": "職務代理者の指定による",
        }
    )
    values["kinds.residence_certificate.seal"] = "certificate"
    saved = _post(client, "/ui/certificates/settings", csrf, values)
    assert saved.status_code == 303 and saved.headers["location"] == "/ui/certificates/settings?saved=1"
    shown = certificates.settings_of(j.uow, ADMIN, j.certificate_office)
    assert shown["version"] == 1
    kind = shown["settings"]["kinds"]["residence_certificate"]
    assert kind == {"include": ["history"], "omit": [], "signer": "acting", "seal": "certificate"}
    assert shown["settings"]["printers"] == {"窓口01": "プリンタ001", "窓口02": "プリンタ002"}

    stale = _post(client, "/ui/certificates/settings", csrf, values)  # the same form again: version 0
    assert stale.status_code == 422 and "ほかの職員が変更しました" in unescape(stale.text)

    clerk_csrf = sign_in(client, totp, "clerk")
    page = client.get("/ui/certificates/settings").text
    assert "<fieldset disabled>" in page and "設定を変更する" not in page  # read-only at the counter
    refused = _post(client, "/ui/certificates/settings", clerk_csrf, _settings_form(client) | {"reason": "x"})
    assert refused.status_code == 403
    assert certificates.settings_of(j.uow, ADMIN, j.certificate_office)["version"] == 1

    person = filings.file(j.uow, CLERK, "move-in", f.move_in(f.family_of_four())).changes[0][
        "addressee_number"
    ]
    form = _form_values(client.get(f"/ui/certificates/new?addressee_number={person}").text)
    assert form.get("include.history") == "1"  # the kind's default, ticked
    assert "include.householder_and_relationship" not in form


def test_a_bad_setting_is_shown_beside_its_field_and_nothing_changes(client, totp, j):
    csrf = sign_in(client, totp, "admin")
    values = _settings_form(client) | {"mayor.title": "小平市長", "reason": "改正"}
    res = _post(client, "/ui/certificates/settings", csrf, values)
    assert res.status_code == 422
    assert "都道府県名から" in _error(res.text, "mayor-title")
    bad_printer = _settings_form(client) | {"printers": "窓口01 プリンタ001", "reason": "改正"}
    res = _post(client, "/ui/certificates/settings", csrf, bad_printer)
    assert res.status_code == 422 and "端末=プリンタ" in _error(res.text, "printers")
    assert certificates.settings_of(j.uow, ADMIN, j.certificate_office)["version"] == 0


def test_an_overflow_is_flagged_on_the_result_and_listed(client, totp, j):
    number = resident_with_long_katagaki(j)
    csrf = sign_in(client, totp)
    values = _form_values(client.get(f"/ui/certificates/new?addressee_number={number}").text)
    values.update(
        {
            "kind": "entry_certificate",
            "requester.name": "山田　太郎",
            "identity_check.document": "運転免許証",
            "purpose": "手続のため",
        }
    )
    confirm = _post(client, "/ui/certificates/confirm", csrf, values)
    assert confirm.status_code == 200, confirm.text
    issued = _post(client, "/ui/certificates", csrf, _form_values(confirm.text))
    result = client.get(issued.headers["location"]).text
    assert 'id="overflow-warning"' in result and "文字溢れ: 住所" in unescape(result)
    listed = client.get("/ui/certificates/overflow?date=2025-06-30")
    assert listed.status_code == 200 and LONG_KATAGAKI in unescape(listed.text)
    printed = client.get("/ui/certificates/overflow.pdf?date=2025-06-30")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    assert client.get("/ui/certificates/overflow?date=2025-02-30").status_code == 422


def test_the_settings_and_overflow_list_in_the_browser(live: Live, new_page, shot):
    admin = live.account("admin", "管理 設定")
    page = new_page()
    browser_sign_in(page, live, admin)
    page.goto(f"{live.url}/ui/certificates/settings")
    before = certificates.settings_of(live.j.uow, ADMIN, live.j.certificate_office)
    try:
        page.check("input[name='kinds.entry_certificate.signer'][value=acting]")
        page.check("input[name='kinds.entry_certificate.seal'][value=none]")
        page.fill("#f-reason", "職務代理者の指定による")
        shot(page, "settings", full_page=True)
        page.get_by_role("button", name="設定を変更する").click()
        page.wait_for_url(re.compile(r".*/ui/certificates/settings\?saved=1$"))
        assert "設定を変更しました" in page.locator("#saved").inner_text()
        assert page.is_checked("input[name='kinds.entry_certificate.signer'][value=acting]")
        assert csp_violations(page) == []

        clerk = live.account("clerk", "窓口 溢子")
        today = today_jst()
        body = f.move_in(
            [f.person(family_name="溢田", family_name_kana="アフレダ")],
            filed_on=today.isoformat(),
            changed_on=(today - timedelta(days=1)).isoformat(),
            address={"address": "東京都小平市小川町一丁目100番地5", "katagaki": LONG_KATAGAKI},
        )
        actor = Actor(clerk, "窓口", "clerk", "窓口01")
        person = filings.file(live.j.uow, actor, "move-in", body).changes[0]["addressee_number"]
        request = {
            "kind": "entry_certificate",
            "addressee_numbers": [person],
            "requester": {"type": "self", "name": "溢田 太郎", "addressee_number": person},
            "purpose": "手続のため",
        }
        issued = certificates.issue(live.j.uow, actor, request, live.j.certificate_office)
        assert issued.overflows == 1
        counter = new_page()
        browser_sign_in(counter, live, clerk)
        counter.goto(f"{live.url}/ui/certificates/overflow")
        row = counter.locator("#overflow-lines tr", has_text=issued.issuance_number)
        assert LONG_KATAGAKI in row.inner_text() and "文字溢れ" in row.inner_text()
        shot(counter, "overflow-list", full_page=True)
        pdf = counter.context.request.get(live.url + counter.get_attribute("#overflow-pdf", "href"))
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        assert csp_violations(counter) == []
    finally:  # the served register is shared by the session's browser tests
        certificates.change_settings(
            live.j.uow,
            ADMIN,
            live.j.certificate_office,
            {"settings": before["settings"], "reason": "試験の後の復元"},
        )


@pytest.mark.parametrize("version", ["²", "1" * 5000, "-1"])
def test_a_tampered_version_is_a_conflict_not_a_crash(client, totp, j, version):
    csrf = sign_in(client, totp, "admin")
    values = _settings_form(client) | {"version": version, "reason": "改正"}
    res = _post(client, "/ui/certificates/settings", csrf, values)
    assert res.status_code == 422 and "ほかの職員が変更しました" in unescape(res.text)
    assert certificates.settings_of(j.uow, ADMIN, j.certificate_office)["version"] == 0
