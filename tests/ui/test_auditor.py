"""In the browser: the auditor's log search and a report; a clerk records a disclosure request (another 事務)."""

from __future__ import annotations

import re

from juki.domain.dates import to_wareki, today_jst
from tests.ui.conftest import Live, csp_violations, sign_in
from tests.ui.test_controls import _resident


def test_the_auditor_searches_the_log_and_runs_a_report(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 八郎")
    auditor = live.account("auditor", "監査 花子")
    number = _resident(
        live,
        clerk,
        family_name="東村",
        given_name="八郎",
        family_name_kana="ヒガシムラ",
        given_name_kana="ハチロウ",
    )
    page = new_page()
    page.goto(live.url + "/")
    page.locator("#username").fill(auditor)
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Tab")
    page.keyboard.type(live.otp(auditor))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/ui/audit$"))  # the auditor's front page
    page.wait_for_selector("#f-from:focus")
    page.keyboard.type(to_wareki(today_jst()))  # 期間（から） has the focus
    page.fill("#f-target", number)
    page.locator("#f-target").press("Enter")
    page.wait_for_url(re.compile(r".*/ui/audit\?.*"))
    table = page.locator("table.report").inner_text()
    assert "filing:move-in" in table and clerk in table
    shot(page, "log-search")
    page.goto(live.url + "/ui/audit/reports")
    page.select_option("#f-kind", "logins")
    page.fill("#f-from", to_wareki(today_jst()))
    page.fill("#f-to", to_wareki(today_jst()))
    page.locator("#f-to").press("Enter")
    page.wait_for_url(re.compile(r".*kind=logins.*"))
    assert auditor in page.locator("table.report").inner_text()
    shot(page, "report-logins")
    assert csp_violations(page) == []


def test_a_clerk_records_a_disclosure_request(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 九郎")
    number = _resident(
        live,
        clerk,
        family_name="西村",
        given_name="九郎",
        family_name_kana="ニシムラ",
        given_name_kana="クロウ",
    )
    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{number}")
    page.click("text=開示等の請求")
    page.wait_for_selector("button.primary:focus")
    shot(page, "switch-procedure")
    page.keyboard.press("Enter")  # 「開示・訂正・利用停止請求に関する事務」に切り替えて開く has the focus
    page.wait_for_url(re.compile(r".*/ui/requests/new\?.*"))
    page.select_option("#f-kind", "disclosure")
    page.fill("#f-text", "自分の住民票の記載と、それを利用した記録の開示を求めます")
    page.fill("#f-requester-name", "西村 九郎")
    page.select_option("#f-identity_check-document", "my_number_card")
    shot(page, "request-form")
    page.locator("#f-requester-name").press("Enter")
    page.wait_for_url(re.compile(r".*/ui/requests/R?[\w-]+\?done=file$"))
    assert "受け付けました" in page.locator(".success").inner_text()
    shot(page, "request-recorded")
    assert csp_violations(page) == []
