"""Holds (抑止, j410) in the browser: a supervisor sets a hold on 異動入力 through the measure form; the record's
flag says 「異動入力の抑止（エラー）」; the clerk's 転居 is refused at the confirmation with the persons named, and
logged as held. An alert-level hold lets the filing through with the warning on the confirmation and the result,
and the supervisor gets the alert."""

from __future__ import annotations

import re
from datetime import timedelta

from juki.domain.dates import to_wareki, today_jst
from juki.policy.roles import Actor
from juki.services import protection
from tests.ui.conftest import Live, csp_violations, sign_in
from tests.ui.test_controls import _log, _resident


def _move_within(page, live: Live, number: str) -> None:  # type: ignore[no-untyped-def]
    """From the record to the 転居 confirmation, by keyboard where the form allows."""
    page.goto(f"{live.url}/ui/residents/{number}")
    page.get_by_role("link", name="転居", exact=True).click()
    page.wait_for_selector("#f-changed_on:focus")
    page.keyboard.type(to_wareki(today_jst() - timedelta(days=1)))
    page.fill("#f-address-address", "東京都小平市花小金井一丁目1番1号")
    page.locator("#f-address-address").press("Enter")


def test_a_hold_on_filing_refuses_the_clerks_filing_and_an_alert_level_one_warns(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 九郎")
    supervisor = live.account("supervisor", "係長 九子")
    held = _resident(
        live,
        clerk,
        family_name="小川",
        given_name="抑止",
        family_name_kana="オガワ",
        given_name_kana="ヨクシ",
    )
    warned = _resident(
        live,
        clerk,
        family_name="仲町",
        given_name="警告",
        family_name_kana="ナカマチ",
        given_name_kana="ケイコク",
    )

    # The supervisor sets 「その他の抑止」 on 異動入力 at error level through the form.
    boss = new_page()
    sign_in(boss, live, supervisor)
    with boss.expect_navigation():
        boss.select_option("#procedure", "protection")
    boss.click("text=支援措置")
    boss.wait_for_url(re.compile(r".*/ui/protection$"))
    boss.check("#f-kind-hold")
    boss.uncheck("#f-operations-certificate")
    boss.uncheck("#f-operations-view")
    boss.check("#f-operations")  # 異動入力
    boss.check("#f-level")  # エラー（止める）
    boss.select_option("#f-subject_kind", "person")
    boss.fill("#f-subject", held)
    boss.fill("#f-requester", "市民課（実態調査）")
    boss.fill("#f-received_on", to_wareki(today_jst()))
    boss.fill("#f-reason", "居住実態の調査中")
    shot(boss, "hold-form", full_page=True)
    boss.locator("#f-reason").press("Enter")
    boss.wait_for_url(re.compile(r".*done=set$"))
    row = boss.locator("table.measures tbody tr").first.inner_text()
    assert "その他の抑止" in row and "異動入力の抑止（エラー）" in row and "居住実態の調査中" in row
    shot(boss, "hold-listed")
    # An alert-level one on the other person, through the service (the form is the same).
    protection.set_measure(
        live.j.uow,
        Actor(supervisor, "係長", "supervisor", "test", procedure="protection"),
        {
            "kind": "hold",
            "operations": ["filing"],
            "level": "alert",
            "subject_kind": "person",
            "subject": warned,
            "reason": "転出証明書の確認待ち",
            "requester": "市民課",
            "received_on": today_jst().isoformat(),
            "starts_on": today_jst().isoformat(),
        },
    )

    # The clerk sees the flag on the record, and the filing is refused at the confirmation.
    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{held}")
    assert page.locator("h1 .badge.held").inner_text() == "異動入力の抑止（エラー）"
    assert "異動入力（届出・職権処理・決裁）は受け付けられません" in page.locator(".banner.held").inner_text()
    shot(page, "record-flagged")
    _move_within(page, live, held)
    page.locator("#held").wait_for()
    box = page.locator("#held").inner_text()
    assert "異動入力が抑止されています" in box and held in box and "protected_record" in box
    assert page.locator("#f-address-address").input_value() == "東京都小平市花小金井一丁目1番1号"  # kept
    shot(page, "held-filing")
    assert any(
        e["result"] == "held" and held in str(e["targets"]) for e in _log(live, "filing:preview:move-within")
    )

    # Alert level: the confirmation warns, 登録 goes through and says so again; the supervisor is alerted.
    _move_within(page, live, warned)
    page.wait_for_url(re.compile(r".*/confirm$"))
    warning = page.locator(".notice.hold").inner_text()
    assert "異動入力の抑止（アラート）" in warning and warned in warning
    shot(page, "alert-confirm")
    page.keyboard.press("Enter")  # 登録する has the focus
    page.wait_for_url(re.compile(r".*done=1$"))
    assert "係長に通知しました" in page.locator(".notice.hold").inner_text()
    shot(page, "alert-registered")
    page.reload()
    assert page.locator(".notice.hold").count() == 0  # shown once

    boss.goto(f"{live.url}/ui/protection")
    alerts = boss.locator("table.list").nth(1).inner_text()
    assert "異動入力の抑止（アラート）" in alerts and warned in alerts
    assert csp_violations(page) == [] and csp_violations(boss) == []
