"""支援措置 in the browser: a supervisor sets a measure; the record says so clearly; a clerk's search no longer
finds the person, and the supervisor sees the alert that access raised."""

from __future__ import annotations

import re

from tests.ui.conftest import Live, csp_violations, sign_in
from tests.ui.test_controls import _resident


def test_a_protected_person_is_flagged_hidden_from_the_counter_and_every_access_alerts(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 七郎")
    supervisor = live.account("supervisor", "係長 七子")
    number = _resident(
        live,
        clerk,
        family_name="清瀬",
        given_name="七海",
        family_name_kana="キヨセ",
        given_name_kana="ナナミ",
        birth_date="1990-07-07",
        sex="female",
    )

    boss = new_page()
    sign_in(boss, live, supervisor)
    with boss.expect_navigation():
        boss.select_option("#procedure", "protection")
    boss.click("text=支援措置")
    boss.wait_for_url(re.compile(r".*/ui/protection$"))
    boss.select_option("#f-subject_kind", "person")
    boss.fill("#f-subject", number)
    boss.fill("#f-requester", "本人")
    boss.fill("#f-received_on", "R7.6.1")
    boss.fill("#f-starts_on", "R7.6.1")
    boss.fill("#f-reason", "DV被害（配偶者からの暴力）")
    boss.locator("#f-reason").press("Enter")
    boss.wait_for_url(re.compile(r".*done=set$"))
    assert "DV被害" in boss.locator("table.measures").inner_text()
    shot(boss, "measure-set")
    boss.goto(f"{live.url}/ui/residents/{number}")
    assert "支援措置の対象者です" in boss.locator(".banner.protected").inner_text()
    assert "支援措置" in boss.locator("h1").inner_text()
    shot(boss, "record-flagged")

    page = new_page()
    sign_in(page, live, clerk)
    page.fill("#f-name", "キヨセ ナナミ")
    page.fill("#f-birth_date", "H2.7.7")
    page.keyboard.press("Enter")
    page.locator("#results .empty").wait_for()  # looks not found
    shot(page, "hidden-from-the-counter")
    page.goto(f"{live.url}/ui/residents/{number}")
    assert "見つかりません" in page.locator(".error-box").inner_text()

    boss.goto(f"{live.url}/ui/protection")
    alerts = boss.locator("table.list").nth(1).inner_text()
    assert "窓口 七郎" in alerts and "非表示にした" in alerts  # who, by name (the id stays in the log)
    shot(boss, "alerts", full_page=True)
    assert csp_violations(boss) == [] and csp_violations(page) == []
