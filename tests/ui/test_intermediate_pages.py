"""The 中間サーバー in the browser: a 照会 about a person under a 支援措置 is held (a network in memory asks, as
tests/intermediate/test_queries.py does); the supervisor, acting for 情報提供ネットワークシステムによる情報提供に関する事務,
finds the person's 符号 state on /ui/intermediate, the held 照会 on /ui/intermediate/reviews, and releases it (提供する);
the page says it goes at the next pass, and the next pass answers the requester. The 情報提供等記録 shows the
release, and 改ざん検査 finds the chain intact."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from juki.domain.dates import today_jst
from juki.intermediate import wire
from juki.policy.roles import Actor
from juki.services import filings, protection
from tests import factories as f
from tests.e2e.role_cases.intermediate import Ims
from tests.ui.conftest import Live, csp_violations, sign_in


def _family(live: Live, clerk: Actor) -> list[str]:
    people = [
        f.person(
            family_name="国分寺", family_name_kana="コクブンジ", given_name="一郎", given_name_kana="イチロウ"
        ),
        f.person(
            "妻",
            sex="female",
            family_name="国分寺",
            family_name_kana="コクブンジ",
            given_name="桜",
            given_name_kana="サクラ",
        ),
    ]
    done = filings.file(live.j.uow, clerk, "move-in", f.move_in(people))
    return [c["addressee_number"] for c in done.changes]


def test_a_held_query_is_released_by_the_supervisor(live: Live, new_page, shot):
    clerk_name, boss_name = live.account("clerk"), live.account("supervisor", "係長 中間")
    clerk = Actor(clerk_name, "窓口", "clerk", "test")
    boss = Actor(boss_name, "係長 中間", "supervisor", "test", procedure="protection")
    head, wife = _family(live, clerk)
    ims = Ims(live.j)
    ims.with_link_codes()
    protection.set_measure(live.j.uow, boss, f.support_measure(wife, starts_on=today_jst().isoformat()))
    ims.run()  # the 支援措置 reaches the 中間サーバー: the wife's answers are held
    query_id = ims.ask(wife, ("世帯主氏名", "世帯主との続柄"))
    assert ims.network.last(query_id).status == wire.PENDING

    page = new_page()
    sign_in(page, live, boss_name)
    page.locator("nav.menu").get_by_role("link", name="中間サーバー").click()  # acting for 住民基本台帳の事務
    page.get_by_role(
        "button", name="「情報提供ネットワークシステムによる情報提供に関する事務」に切り替えて開く"
    ).click()
    page.wait_for_url(re.compile(r".*/ui/intermediate$"))
    expect(page.locator("#procedure")).to_have_value("intermediate")
    expect(page.locator("td[data-count=review_queue] strong")).not_to_have_text("0")

    page.locator("#addressee_number").fill(head)
    page.get_by_role("button", name="表示").click()
    expect(page.locator("dl.person-state [data-state]")).to_have_text("取得済")
    expect(page.locator("dl.person-state")).to_contain_text("13211******")
    expect(page.locator("dl.person-state [data-no-auto-reply]")).to_have_text("なし")
    expect(page.get_by_role("button", name="符号を再要求")).to_have_count(0)  # the 符号 has come
    assert ims.link_code(head) not in page.content()
    shot(page, "person", full_page=True)
    page.screenshot(path="/tmp/ims-person.png", full_page=True)

    page.get_by_role("link", name="審査待ちの照会").click()
    row = page.locator("table.reviews tbody tr", has_text=query_id)
    expect(row).to_contain_text("全国健康保険協会")
    expect(row).to_contain_text(wife)
    expect(row).to_contain_text("世帯主氏名・世帯主との続柄")
    expect(page.locator("p.note")).to_contain_text("次の送信で提供します")
    shot(page, "reviews", full_page=True)
    page.screenshot(path="/tmp/ims-reviews.png", full_page=True)

    row.get_by_role("button", name="提供する").click()
    page.wait_for_url(re.compile(r".*/ui/intermediate/reviews\?done=released$"))
    expect(page.locator("p.success")).to_contain_text("次の送信で提供します")
    expect(page.locator("table.reviews tbody tr", has_text=query_id)).to_have_count(0)
    shot(page, "released", full_page=True)
    page.screenshot(path="/tmp/ims-released.png", full_page=True)

    ims.run()  # the relay's next pass
    assert ims.network.final(query_id) == wire.QueryAnswer(
        query_id, wire.ANSWERED, {"世帯主氏名": "国分寺\u3000一郎", "世帯主との続柄": "妻"}, wire.PROVIDED
    )

    page.get_by_role("link", name="情報提供等記録").click()
    page.locator("#rec-addressee").fill(wife)
    page.get_by_role("button", name="改ざん検査").click()
    expect(page.locator(".verify-result")).to_contain_text("異常はありません")
    released = page.locator("table.records tbody tr[data-action=released]", has_text=query_id)
    expect(released).to_contain_text("審査の上提供")
    expect(released).to_contain_text("係長 中間")
    shot(page, "records", full_page=True)
    page.screenshot(path="/tmp/ims-records.png", full_page=True)
    assert not csp_violations(page)
