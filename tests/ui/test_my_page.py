"""/my in the browser: a resident signs in with the simulated My Number card — the page's challenge signed by the card
reader (`juki sim my-portal --sign`, here its function), the answer pasted or uploaded — and reads their やりとり履歴 in
Japanese; a wrong PIN is refused on the page; a supervisor releases a withheld entry on /ui/usage-withholdings and it
appears on the resident's page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.pki import TrustAnchors, kiosk_desk, kiosk_pki_dir
from juki.cli.my_portal import card_answer
from juki.domain.dates import today_jst
from juki.intermediate.records import ProvisionEntry
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, register_queries, transfer_feed
from juki.sim.pki import SimCard, create_test_pki, issue_card
from juki.web.ui.core import jst
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
    transfer_feed.changes_for(live.j.uow, "hoken-nenkin", 0, deliver=("hoken-client", "api"))  # 庁内連携
    at = datetime.now(UTC).replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=3)
    provision = ProvisionEntry(
        at,
        "厚生労働大臣",
        "番号法第19条第8号別表第2の1の項",
        "健康保険に関する事務",
        ("世帯主該当",),
        "answered",
    )
    live.server.config.app.state.provision_records = Provisions({number: [provision]})
    return number, card


class Provisions:
    """The 中間サーバー's 情報提供等記録 as the port gives them."""

    def __init__(self, entries: dict[str, list[ProvisionEntry]]) -> None:
        self.entries = entries

    def provisions_for(self, addressee_number: str) -> list[ProvisionEntry]:
        return list(self.entries.get(addressee_number, []))


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
    rows = table.locator("tbody tr")
    kinds = {r.get_attribute("data-kind"): r for r in rows.all()}
    assert set(kinds) == {"view", "transfer", "provision"}
    expect(kinds["view"].locator("td").nth(1)).to_have_text("職員の利用")
    expect(kinds["transfer"].locator("td").nth(1)).to_have_text("庁内連携")
    expect(kinds["transfer"].locator("td").nth(2)).to_have_text("保険年金課")
    expect(kinds["provision"].locator("td").nth(1)).to_have_text("提供")
    # the time in Japan, as people write it: 23:30 UTC is 8:30 the next day
    expect(kinds["provision"].locator("td").nth(0)).to_have_text(jst(provision_at(live, number)))
    assert jst(provision_at(live, number)).endswith(" 08:30")
    for cell in table.locator("tbody td:nth-child(6)").all():  # the items: Japanese, every one
        assert cell.inner_text() and not re.search(r"[A-Za-z_]", cell.inner_text()), cell.inner_text()
    expect(kinds["transfer"].locator("td").nth(5)).to_contain_text("氏")
    assert "T" not in rows.first.locator("td").first.inner_text()  # no ISO stamp
    expect(page.get_by_test_id("withholding-rule")).to_be_visible()  # told to everyone alike
    shown = table.inner_text() + " ".join(
        n.inner_text() for n in page.get_by_test_id("withheld-notice").all()
    )
    assert "窓口 閲子" not in shown and "捜査" not in shown and "非表示" not in shown
    assert not csp_violations(page)
    shot(page, "history", full_page=True)

    # another site's form posting to /my/sign-out (the browser sending the cookie anyway) does not sign out
    res = page.request.post(f"{live.url}/my/sign-out", form={"form_token": "0" * 32}, max_redirects=0)
    assert res.status == 303 and "signed_out" not in (res.headers.get("location") or "")
    page.reload()
    expect(page.locator("table.usage")).to_be_visible()

    supervisor = live.account("supervisor", "係長 解子")
    staff = new_page()
    sign_in(staff, live, supervisor)
    with staff.expect_navigation():
        staff.select_option(
            "#procedure", "my_usage"
        )  # 自己情報の確認（やりとり履歴）に関する事務: applies at once
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


def provision_at(live: Live, number: str) -> datetime:
    records = live.server.config.app.state.provision_records
    return records.provisions_for(number)[0].at
