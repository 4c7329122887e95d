"""A clerk's day at the counter, in the browser: a family of four moves in, one of them moves within the city,
a birth is registered and a death filed — every form by keyboard, each step confirmed before it is written."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from juki.domain.dates import to_wareki, to_wareki_short, today_jst
from tests.ui.conftest import Live, csp_violations, sign_in

FAMILY = [
    # 氏, 名, 氏カナ (typed in hiragana: the form makes it katakana), 名カナ, 生年月日 (any accepted form), 性別, 続柄
    ("多摩", "一郎", "たま", "いちろう", "S55.4.1", "male", "世帯主"),
    ("多摩", "花子", "たま", "はなこ", "昭和57年7月7日", "female", "妻"),
    ("多摩", "健太", "ﾀﾏ", "ｹﾝﾀ", "2005-05-05", "male", "子"),
    ("多摩", "桜", "タマ", "サクラ", "H25.3.3", "female", "子"),
]


def fill_person(page, i: int, person: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    family, given, family_kana, given_kana, born, sex, relationship = person
    p = f"#f-persons-{i}-"
    page.fill(p + "family_name", family)
    page.fill(p + "given_name", given)
    page.fill(p + "family_name_kana", family_kana)
    page.fill(p + "given_name_kana", given_kana)
    page.fill(p + "birth_date", born)
    page.select_option(p + "sex", sex)
    page.fill(p + "relationship", relationship)


def test_a_clerk_moves_a_family_in_moves_one_within_the_city_registers_a_birth_and_files_a_death(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    today = today_jst()
    moved_in = today - timedelta(days=3)
    page = new_page()
    clerk = live.account("clerk", "窓口 一郎")
    page.goto(live.url + "/")
    shot(page, "login")
    sign_in(page, live, clerk)
    shot(page, "search")

    # 転入: a family of four at once (three more person blocks added with the form's own button).
    page.keyboard.press("Alt+n")  # the menu's access key for 転入届
    page.wait_for_url(re.compile(r".*/ui/filings/move-in/new$"))
    assert page.locator("h1").inner_text().startswith("転入届")
    expect(page.locator("#f-changed_on")).to_be_focused()  # the first field to type
    page.keyboard.type(to_wareki_short(moved_in))
    page.fill("#f-previous_address-address", "東京都武蔵野市吉祥寺本町一丁目1番1号")
    page.fill("#f-previous_address-municipality_code", "132039")
    page.fill("#f-address-address", "東京都小平市小川町一丁目100番地5")
    fill_person(page, 0, FAMILY[0])
    page.locator("#f-persons-0-given_name_kana").press("Tab")
    assert page.input_value("#f-persons-0-family_name_kana") == "タマ"  # hiragana became katakana
    for i in range(1, 4):
        page.click("text=世帯員を追加")
        page.wait_for_selector(f"#f-persons-{i}-family_name")
        expect(page.locator(f"#f-persons-{i}-family_name")).to_be_focused()
        fill_person(page, i, FAMILY[i])
    page.fill("#f-persons-1-my_number", "123456789012")  # a wrong check digit: shown beside the field at once
    page.locator("#f-persons-1-my_number").press("Tab")
    error = page.locator("#err-f-persons-1-my_number")
    error.filter(has_text="チェックデジット").wait_for()
    assert "invalid_my_number" in error.inner_text()
    shot(page, "move-in-inline-error")
    page.fill("#f-persons-1-my_number", "")
    page.locator("#f-persons-3-given_name").press("Enter")  # Enter confirms
    page.wait_for_url(re.compile(r".*/confirm$"))
    assert page.locator("h1").inner_text() == "転入届の確認"
    assert page.locator(".change").count() == 4
    assert "ケンタ" in page.locator(".changes").inner_text()  # half-width kana became full-width
    shot(page, "move-in-confirm", full_page=True)
    page.keyboard.press("Enter")  # 登録する has the focus
    page.wait_for_url(re.compile(r".*/ui/filings/F[\d-]+\?done=1$"))
    assert "登録しました" in page.locator(".success").inner_text()
    assert page.locator("table.list tbody tr").count() == 4
    shot(page, "move-in-result")
    household = page.locator("a[href^='/ui/households/']").first.inner_text()

    # 転居: the grown-up son moves within the city and heads a household of his own.
    page.goto(f"{live.url}/ui/households/{household}")
    assert [c.inner_text() for c in page.locator("table.list tbody tr td:nth-child(4)").all()] == [
        "世帯主",
        "妻",
        "子",
        "子",
    ]  # members in order
    shot(page, "household")
    page.click("text=転居届")
    page.wait_for_url(re.compile(r".*/move-within/new\?.*"))
    page.wait_for_selector("#f-changed_on:focus")
    page.keyboard.type(to_wareki(today - timedelta(days=1)))
    page.check("text=多摩 健太")
    page.check("input[name=_mode][value=new_household]")
    page.select_option("#f-householder", label="多摩 健太（子）")
    page.fill("#f-address-address", "東京都小平市花小金井一丁目1番1号")
    page.fill("#f-address-katagaki", "コーポ花小金井201")
    shot(page, "move-within-form")
    page.locator("#f-address-katagaki").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    changes = page.locator(".changes").inner_text()
    assert "転居" in changes and "花小金井" in changes and "世帯主" in changes
    shot(page, "move-within-confirm")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*done=1$"))
    shot(page, "move-within-result")

    # 出生: a daughter is born to the family that stayed.
    page.goto(f"{live.url}/ui/households/{household}")
    page.click("text=出生届")
    page.wait_for_selector("#f-birth_date:focus")
    page.keyboard.type(today.isoformat())
    page.fill("#f-person-family_name", "多摩")
    page.fill("#f-person-given_name", "結衣")
    page.fill("#f-person-family_name_kana", "タマ")
    page.fill("#f-person-given_name_kana", "ゆい")
    page.select_option("#f-person-sex", "female")
    page.fill("#f-person-relationship", "子")
    page.locator("#f-person-relationship").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    assert "出生" in page.locator(".changes").inner_text()
    shot(page, "birth-confirm")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*done=1$"))

    # 死亡: the householder dies; the wife becomes householder (the children stay 子).
    page.goto(f"{live.url}/ui/households/{household}")
    page.locator("tr", has_text="多摩 一郎").locator("text=死亡届").click()
    page.wait_for_selector("#f-died_on:focus")
    page.keyboard.type(to_wareki(today))
    # no new householder chosen: j490 warns, and would go on without
    page.locator("#f-died_on").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    assert "householder_required" in " ".join(page.locator("p.notice").all_inner_texts())
    shot(page, "death-warning-no-householder")
    page.locator("button", has_text="修正する").click()
    page.wait_for_selector("#f-new_householder")
    assert page.locator("#f-new_householder option", has_text="多摩 一郎").count() == 0  # not the deceased
    page.select_option("#f-new_householder", label="多摩 花子（妻）")
    page.locator("#f-died_on").press("Enter")
    page.wait_for_url(re.compile(r".*/confirm$"))
    changes = page.locator(".changes").inner_text()
    assert "死亡" in changes and "世帯主変更" in changes
    shot(page, "death-confirm", full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*done=1$"))
    shot(page, "death-result")

    # The deceased is found as 除票; the record's history is a timeline of versions.
    page.goto(live.url + "/ui/")
    page.fill("#f-name", "たま いちろう")
    page.fill("#f-birth_date", "昭和55年4月1日")
    page.keyboard.press("Enter")
    row = page.locator("#results tbody tr", has_text="多摩 一郎")
    row.wait_for()
    assert "除票" in row.inner_text() and "死亡" in row.inner_text()
    shot(page, "search-removed")
    row.locator("a").first.click()
    page.wait_for_selector(".timeline")
    reasons = [r.inner_text() for r in page.locator(".v-head .reason").all()]
    assert reasons == ["死亡", "転入"]
    assert "除票" in page.locator("h1").inner_text()
    shot(page, "person-history", full_page=True)
    assert csp_violations(page) == []
