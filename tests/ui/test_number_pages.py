"""The numbers at the counter, in the browser: who waits for a 個人番号 and the stock left (/ui/numbers), a
住民票コード変更 on the person's page with its 変更通知票 printed in the flow (標準仕様書 j880, j890)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in


def test_the_counter_sees_who_waits_and_changes_a_code_with_its_notice(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 番号")
    actor = Actor(clerk, "窓口 番号", "clerk", "test")
    done = filings.file(
        live.j.uow, actor, "move-in", f.move_in([f.person(family_name="番場", family_name_kana="バンバ")])
    )
    head, household = done.changes[0]["addressee_number"], done.household_number
    child = {k: v for k, v in f.person("子", family_name="番場", family_name_kana="バンバ", given_name="蓮",
                                         given_name_kana="レン").items()
             if k not in ("my_number", "resident_code", "birth_date")}  # fmt: skip
    born = filings.file(
        live.j.uow, actor, "birth",
        {"filed_on": "2025-06-11", "birth_date": "2025-06-10", "household_number": household, "person": child},
    ).changes[0]["addressee_number"]  # fmt: skip

    page = new_page()
    sign_in(page, live, clerk)
    page.click("nav >> text=番号")
    page.wait_for_url(re.compile(r".*/ui/numbers$"))
    expect(page.locator("#stock-ok")).to_contain_text(
        "未使用の住民票コード"
    )  # 300 handed over, far above 200
    expect(page.locator("#waiting")).to_contain_text(born)
    expect(page.locator("#waiting")).to_contain_text("番場")
    shot(page, "numbers")

    page.goto(f"{live.url}/ui/residents/{head}")
    old = page.locator("dt:text-is('住民票コード') + dd").inner_text()
    page.check("input[name=requested]")
    page.click("#resident-code-change")
    expect(page.locator("h1")).to_have_text("住民票コードの変更")
    expect(page.locator("#print-notice")).to_be_visible()
    shot(page, "code-changed")
    pdf = page.request.get(live.url + page.locator("#print-notice").get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    page.click("text=住民の画面へ戻る")
    new = page.locator("dt:text-is('住民票コード') + dd").inner_text()
    assert re.fullmatch(r"\d{11}", new) and new != old
    assert csp_violations(page) == []
