"""記載順位の変更 (標準仕様書 j1010) in the browser: on the household page a clerk puts the members in the standard
order (confirmation first, nothing written until 登録する), then in an order of their own by typing numbers; a
mistyped order and an order against a household changed meanwhile are refused on the page, writing nothing."""

from __future__ import annotations

import re
from datetime import timedelta

from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in

FAMILY = {"family_name": "恋ヶ窪", "family_name_kana": "コイガクボ"}


def _family(live: Live, clerk: str) -> tuple[str, dict[str, str]]:
    """A family entered (through the services) as 世帯主, 子 (2013), 妻, 子 (2010): stored in that order."""
    today = today_jst()
    head, wife, son, daughter = (
        f.person(relationship, **FAMILY, **person)
        for relationship, person in (
            ("世帯主", {}),
            (
                "妻",
                {
                    "given_name": "花子",
                    "given_name_kana": "ハナコ",
                    "sex": "female",
                    "birth_date": "1982-07-07",
                },
            ),
            ("子", {"given_name": "一郎", "given_name_kana": "イチロウ", "birth_date": "2010-05-05"}),
            (
                "子",
                {
                    "given_name": "桜",
                    "given_name_kana": "サクラ",
                    "sex": "female",
                    "birth_date": "2013-03-03",
                },
            ),
        )
    )
    body = f.move_in(
        [head, daughter, wife, son],
        filed_on=today.isoformat(),
        changed_on=(today - timedelta(days=2)).isoformat(),
    )
    result = filings.file(live.j.uow, Actor(clerk, "窓口", "clerk", "test"), "move-in", body)
    numbers = [c["addressee_number"] for c in result.changes]
    return result.household_number, dict(zip(("太郎", "桜", "花子", "一郎"), numbers, strict=True))


def _stored_order(live: Live, household: str) -> list[str]:
    with live.j.uow() as uow:
        return [m.addressee_number for m in uow.reader.household(household).members]


def _shown_order(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The addressee numbers of the members table (the page's first list), top to bottom."""
    rows = page.locator("table.list").first.locator("tbody tr")
    return [rows.nth(i).locator("td").nth(1).inner_text().strip() for i in range(rows.count())]


def test_a_clerk_sorts_the_household_into_the_standard_order_then_into_one_of_their_own(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    clerk = live.account("clerk", "窓口 並子")
    household, n = _family(live, clerk)
    as_entered = [n["太郎"], n["桜"], n["花子"], n["一郎"]]
    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/households/{household}")
    assert _shown_order(page) == as_entered
    shot(page, "household", full_page=True)

    # 標準の順に並べ替え: the confirmation shows the new order and who moves; nothing is written yet
    page.click("#member-order-standard")
    page.wait_for_selector("#member-order-confirm")
    confirm = page.locator("#member-order-confirm")
    assert "記載順位が変わるのは3人です" in confirm.inner_text()
    rows = confirm.locator("tbody tr")
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(4)] == [
        n["太郎"], n["花子"], n["一郎"], n["桜"],
    ]  # fmt: skip
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(4)] == ["1", "3", "4", "2"]
    assert _stored_order(live, household) == as_entered
    assert page.evaluate("document.activeElement.textContent") == "登録する"
    shot(page, "standard-confirm", full_page=True)

    # 登録する (Enter, the focused button) → the household page says so and lists the new order
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/ui/households/\d+\?reordered=3$", page.url)
    assert "記載順位を変更しました（3人）" in page.locator("p.success").inner_text()
    standard = [n["太郎"], n["花子"], n["一郎"], n["桜"]]
    assert _shown_order(page) == standard == _stored_order(live, household)
    shot(page, "standard-done", full_page=True)

    # An order of one's own: two members on one number is refused on the page, nothing written
    page.click("text=順番を指定して並べ替え")
    page.fill(f"#rank-{n['花子']}", "3")
    page.click("text=指定した順で確認")
    error = page.locator("#member-order-error")
    assert "同じ順番が二人に付いています" in error.inner_text() and "invalid_field" in error.inner_text()
    assert page.input_value(f"#rank-{n['花子']}") == "3"  # what was typed comes back
    assert _stored_order(live, household) == standard
    shot(page, "manual-refused", full_page=True)

    # 太郎 1, 一郎 2, 桜 3, 花子 4: confirmed, then やめる (Esc) leaves everything as it was
    for name, rank in (("太郎", 1), ("一郎", 2), ("桜", 3), ("花子", 4)):
        page.fill(f"#rank-{n[name]}", str(rank))
    page.click("text=指定した順で確認")
    page.wait_for_selector("#member-order-confirm")
    mine = [n["太郎"], n["一郎"], n["桜"], n["花子"]]
    rows = page.locator("#member-order-confirm tbody tr")
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(4)] == mine
    with page.expect_navigation():
        page.keyboard.press("Escape")
    assert page.url.endswith(f"/ui/households/{household}")
    assert _stored_order(live, household) == standard

    # … and again, this time registered
    page.click("text=順番を指定して並べ替え")
    for name, rank in (("太郎", 1), ("一郎", 2), ("桜", 3), ("花子", 4)):
        page.fill(f"#rank-{n[name]}", str(rank))
    page.click("text=指定した順で確認")
    page.wait_for_selector("#member-order-confirm")
    shot(page, "manual-confirm", full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="登録する").click()
    assert "記載順位を変更しました（3人）" in page.locator("p.success").inner_text()
    assert _shown_order(page) == mine == _stored_order(live, household)

    # A page read before another change to the household is out of date: 409 conflict, nothing written
    page.click("#member-order-standard")
    page.wait_for_selector("#member-order-confirm")
    baby = f.person(
        "子", **FAMILY, given_name="蓮", given_name_kana="レン", birth_date=today_jst().isoformat()
    )
    baby.pop("my_number")
    filings.file(
        live.j.uow,
        Actor(clerk, "窓口", "clerk", "test"),
        "birth",
        {
            "filed_on": today_jst().isoformat(),
            "birth_date": today_jst().isoformat(),
            "household_number": household,
            "person": baby,
        },
    )
    before = _stored_order(live, household)
    page.get_by_role("button", name="登録する").click()
    error = page.locator("#member-order-error")
    assert "他の操作で更新されました" in error.inner_text() and "conflict" in error.inner_text()
    assert _stored_order(live, household) == before == [*mine, before[-1]]
    assert len(_shown_order(page)) == 5  # the page shows the household as it is now
    shot(page, "conflict", full_page=True)
    assert not csp_violations(page)
    # the refused pages answered 409 and 422 (the browser notes those statuses); nothing else went wrong
    assert [m for m in page.console_errors if not re.search(r"status of 4(09|22)", m)] == []  # type: ignore[attr-defined]
