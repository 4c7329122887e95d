"""/my in the browser: a resident signs in with the simulated My Number card — the page's challenge signed by the card
reader (`juki sim my-portal --sign`, here its function), the answer pasted or uploaded — and reads their やりとり履歴 in
Japanese; a wrong PIN is refused on the page; a supervisor releases a withheld entry on /ui/usage-withholdings and it
appears on the resident's page."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.pki import TrustAnchors, kiosk_desk, kiosk_pki_dir
from juki.cli.my_portal import card_answer
from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, register_queries
from juki.sim.pki import SimCard, create_test_pki, issue_card
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in


def _resident(live: Live) -> tuple[str, SimCard]:
    """A householder with a registered card, whose record a clerk read and a clerk read for a 捜査関係事項照会."""
    folder = kiosk_pki_dir(live.j.settings)
    card_ca, _ = create_test_pki(folder)
    live.server.config.app.state.kiosk_desk = kiosk_desk(live.j.settings, live.j.certificate_office)
    clerk = live.account("clerk", "窓口 閲子")
    today = today_jst()
    people = [dict(p, family_name="森田", family_name_kana="モリタ") for p in f.family_of_four()]
    body = f.move_in(people, filed_on=today.isoformat(), changed_on=(today - timedelta(days=2)).isoformat())
    actor = Actor(clerk, "窓口 閲子", "clerk", "test")
    number = filings.file(live.j.uow, actor, "move-in", body).changes[0]["addressee_number"]
    card = issue_card(card_ca)
    kiosk_registry.register_card(
        live.j.uow, TrustAnchors.from_dir(folder), actor, number, card.certificate_pem
    )
    register_queries.get_resident(live.j.uow, actor, number)
    inquiry = Actor(clerk, "窓口 閲子", "clerk", "test", procedure="investigation_inquiry")
    register_queries.get_resident(live.j.uow, inquiry, number)
    return number, card


def _answer(page, card: SimCard, pin: str | None = None) -> str:  # type: ignore[no-untyped-def]
    challenge = page.get_by_test_id("challenge").input_value()
    return json.dumps(card_answer(card, challenge, pin or card.pin))


def test_a_resident_signs_in_with_the_card_and_reads_the_history_in_japanese(
    live: Live, new_page, shot, tmp_path
):
    number, card = _resident(live)
    page = new_page()
    page.goto(f"{live.url}/my")
    assert page.locator("html").get_attribute("lang") == "ja"
    expect(page.get_by_role("heading", name="自己情報の確認（やりとり履歴）")).to_be_visible()
    shot(page, "sign-in")

    wrong = f"{(int(card.pin) + 1) % 10_000:04d}"
    page.get_by_label("カードの応答", exact=True).fill(_answer(page, card, wrong))
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_contain_text("暗証番号が違います")
    assert "unauthenticated" in page.get_by_role("alert").inner_text()

    answer = tmp_path / "card-answer.json"
    answer.write_text(_answer(page, card), encoding="utf-8")  # the reader's answer, uploaded as a file
    page.get_by_label("カードの応答（ファイル）").set_input_files(str(answer))
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r".*/my$"))
    table = page.locator("table.usage")
    expect(table).to_contain_text("市民課")
    expect(table).to_contain_text("住民基本台帳に関する事務")
    expect(table).to_contain_text("住民票の記載事項")
    text = page.locator("main").inner_text()
    assert "窓口 閲子" not in text and "捜査" not in text and "非表示" not in text
    assert not csp_violations(page)
    shot(page, "history", full_page=True)

    supervisor = live.account("supervisor", "係長 解子")
    staff = new_page()
    sign_in(staff, live, supervisor)
    with staff.expect_navigation():
        staff.select_option("#procedure", "my_usage")  # 自己情報の確認（やりとり履歴）に関する事務: applies at once
    staff.goto(f"{live.url}/ui/usage-withholdings?addressee_number={number}")
    row = staff.locator("table.withheld tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("犯罪の捜査等")
    shot(staff, "withheld")
    row.get_by_label("表示する理由").fill("捜査終了の連絡を受けた")
    row.get_by_role("button", name="今すぐ表示する").click()
    expect(staff.locator("p.success")).to_contain_text("表示するようにしました")
    expect(staff.locator("table.withheld")).to_have_count(0)
    with live.j.engine.connect() as conn:
        logged = conn.execute(
            select(t.operation_log).where(t.operation_log.c.action == "my_usage:release")
        ).all()
    assert [(r.staff_id, list(r.targets)) for r in logged] == [(supervisor, [number])]

    page.reload()
    expect(page.locator("table.usage")).to_contain_text("捜査機関等からの照会への回答に関する事務")
    page.get_by_role("button", name="ログアウト").click()
    expect(page.get_by_role("status")).to_contain_text("ログアウトしました")
    page.goto(f"{live.url}/my")
    expect(page.get_by_role("button", name="ログイン")).to_be_visible()
