"""In the browser: a supervisor approves an ex officio correction after seeing its diff; a clerk whose 事務 does
not use My Numbers cannot reveal one; the screen locks after the idle period, with and without JavaScript."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from playwright.sync_api import expect

from juki.domain.dates import to_wareki, today_jst
from juki.policy.roles import Actor
from juki.services import filings
from juki.web.ui import core
from tests import factories as f
from tests.ui.conftest import PASSWORD, Live, csp_violations, sign_in


def _resident(live: Live, clerk: str, **person: str) -> str:
    """A resident entered through the services (the scenario is about what follows)."""
    today = today_jst()
    body = f.move_in(
        [f.person(**person)],
        filed_on=today.isoformat(),
        changed_on=(today - timedelta(days=2)).isoformat(),
    )
    result = filings.file(live.j.uow, Actor(clerk, "窓口", "clerk", "test"), "move-in", body)
    return str(result.changes[0]["addressee_number"])


def _log(live: Live, action: str) -> list[dict[str, object]]:
    with live.j.uow() as uow:
        return [dict(r._mapping) for r in uow.queries.operation_log() if r.action == action]


def test_a_supervisor_approves_an_ex_officio_correction_after_seeing_the_diff(live: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 三郎")
    supervisor = live.account("supervisor", "係長 花子")
    number = _resident(
        live, clerk, family_name="武蔵", given_name="次郎", family_name_kana="ムサシ", given_name_kana="ジロ"
    )

    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{number}")
    page.click("text=職権修正")
    page.wait_for_selector("#f-changed_on:focus")
    page.keyboard.type(to_wareki(today_jst()))
    page.fill("#f-reason", "戸籍照会によりフリガナの誤記を確認")
    page.fill("#f-corrections-given_name_kana", "じろう")
    shot(page, "correction-form")
    page.locator("#f-corrections-given_name_kana").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    assert "決裁" in page.locator(".notice").inner_text()
    assert "ジロウ" in page.locator(".changes").inner_text()
    shot(page, "correction-confirm")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*done=1$"))
    assert "決裁待ち" in page.locator(".success").inner_text()
    shot(page, "correction-pending")
    filing_id = re.search(r"F[\d-]+", page.url).group(0)  # type: ignore[union-attr]
    page.goto(f"{live.url}/ui/approvals/{filing_id}")
    assert "決裁できません" in page.locator(".notice").inner_text()  # not by the clerk who entered it

    boss = new_page()
    sign_in(boss, live, supervisor)
    boss.keyboard.press("Alt+a")
    boss.wait_for_url(re.compile(r".*/ui/approvals$"))
    row = boss.locator("tr", has_text=filing_id)
    assert "職権修正" in row.inner_text()
    shot(boss, "approval-queue")
    row.locator("a").click()
    diff = boss.locator("table.diff")
    assert "ジロ" in diff.locator("td.old").inner_text() and "ジロウ" in diff.locator("td.new").inner_text()
    shot(boss, "approval-diff")
    boss.keyboard.press("Enter")  # 承認して反映する has the focus
    boss.wait_for_url(re.compile(r".*done=1$"))
    assert "決裁済み" in boss.locator("dl").inner_text()
    shot(boss, "approved")
    boss.goto(f"{live.url}/ui/residents/{number}")
    assert boss.locator(".v-head .reason").first.inner_text() == "職権修正"
    assert "ムサシ ジロウ" in boss.locator("h1").inner_text()
    shot(boss, "person-after-approval", full_page=True)
    assert csp_violations(page) == [] and csp_violations(boss) == []


def test_my_number_is_masked_and_revealed_only_by_a_logged_action_of_a_procedure_that_may(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 四郎")
    number = _resident(
        live,
        clerk,
        family_name="青梅",
        given_name="四郎",
        family_name_kana="オウメ",
        given_name_kana="シロウ",
    )
    with live.j.uow() as uow:
        my_number = uow.queries.resident(number).my_number
    grouped = " ".join(my_number[i : i + 4] for i in range(0, 12, 4))

    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{number}")
    assert my_number not in page.content() and grouped not in page.content()  # masked: not even in the page
    shot(page, "masked")
    page.click("#reveal-my-number")
    page.locator(".revealed").wait_for()
    assert page.locator(".revealed").inner_text() == grouped
    shot(page, "revealed-and-logged")
    reveals = [e for e in _log(live, "resident:view") if e["staff_id"] == clerk and e["my_number_shown"]]
    assert len(reveals) == 1

    # Acting for 住民票記載事項の照会 (a procedure without My Numbers): no button, and the server refuses anyway.
    with page.expect_navigation():
        page.select_option("#procedure", "resident_inquiry")  # applies at once
    assert "住民票記載事項の照会" in page.locator("#procedure option:checked").inner_text()
    page.goto(f"{live.url}/ui/residents/{number}")
    assert page.locator("#reveal-my-number").count() == 0
    assert "この事務では表示できません" in page.locator("#my-number").inner_text()
    shot(page, "no-reveal-for-this-procedure")
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    forced = page.request.post(f"{live.url}/ui/residents/{number}/my-number", form={"csrf_token": csrf or ""})
    assert forced.status == 403 and my_number not in forced.text()
    page.set_content(forced.text())
    shot(page, "forced-reveal-refused")
    denied = [e for e in _log(live, "resident:view:my_number") if e["staff_id"] == clerk]
    assert denied and denied[-1]["result"] == "denied"


def test_the_screen_locks_after_the_idle_period_and_asks_for_the_password(live_idle: Live, new_page, shot):  # type: ignore[no-untyped-def]
    clerk = live_idle.account("clerk", "窓口 五郎")
    page = new_page()
    page.clock.install()  # the page's own timer, on a clock the test moves on
    sign_in(page, live_idle, clerk)
    page.fill("#f-name", "ヤマダ")
    page.clock.fast_forward(live_idle.j.settings.idle_lock_seconds * 1000 + 1000)
    expect(page).to_have_url(re.compile(r".*/ui/lock\?next=.*"))
    expect(page.locator("h1")).to_have_text("画面はロックされています")
    shot(page, "locked")
    page.fill("#password", "wrong password")
    page.keyboard.press("Enter")
    error = page.locator("#err-password")
    error.wait_for()
    assert "パスワードが正しくありません" in error.inner_text()
    shot(page, "wrong-password")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/ui/$"))
    assert page.locator("#f-name").count() == 1
    shot(page, "unlocked")
    assert [e["result"] for e in _log(live_idle, "ui:unlock") if e["staff_id"] == clerk] == ["failed", "ok"]


class _ServerClockAhead:
    """The clerk UI's clock (web/ui/core.py reads `time.time()`), `seconds` ahead of the real one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds


def test_the_idle_lock_holds_without_javascript(live_idle: Live, new_page, shot, monkeypatch):  # type: ignore[no-untyped-def]
    clerk = live_idle.account("clerk", "窓口 六郎")
    page = new_page(java_script_enabled=False)
    sign_in(page, live_idle, clerk)
    page.goto(f"{live_idle.url}/ui/approvals")
    expect(page.locator("h1")).to_have_text("決裁待ちの職権処理")
    with (
        monkeypatch.context() as later
    ):  # the idle period passes on the server; no script runs to lock the page
        later.setattr(core, "time", _ServerClockAhead(live_idle.j.settings.idle_lock_seconds + 1))
        page.goto(f"{live_idle.url}/ui/filings?late=1")
        expect(page).to_have_url(re.compile(r".*/ui/lock\?next=.*"))
    expect(page.locator("h1")).to_have_text("画面はロックされています")
    shot(page, "locked-by-the-server")
    page.goto(f"{live_idle.url}/ui/approvals")  # the lock holds on every page until the password is given
    expect(page).to_have_url(re.compile(r".*/ui/lock\?next=.*"))
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/ui/approvals$"))  # back where the clerk was going
    shot(page, "back-after-unlock")
