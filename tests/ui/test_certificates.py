"""証明書の発行 in the browser (the counter's most frequent job): a clerk issues a household 住民票の写し
to the person with 世帯主・続柄 by keyboard, gets the PDF once and checks it at /verify; a supervisor records a 処分;
a third party asking for the 住民票コード is refused beside the box; a 支援措置 person is refused to a third party.

The issued PDF's first page is rendered with pdftoppm into test-output/ui/<test>/ (the PDF itself is not kept)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import timedelta

from playwright.sync_api import expect

from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import filings, protection
from tests import factories as f
from tests.ui.conftest import OUTPUT, Live, csp_violations, sign_in


def _family(live: Live, clerk: str, family_name: str, kana: str) -> tuple[list[str], str]:
    """A family of four moved in through the services (the scenario is about what follows)."""
    today = today_jst()
    people = [dict(p, family_name=family_name, family_name_kana=kana) for p in f.family_of_four()]
    body = f.move_in(people, filed_on=today.isoformat(), changed_on=(today - timedelta(days=2)).isoformat())
    result = filings.file(live.j.uow, Actor(clerk, "窓口", "clerk", "test"), "move-in", body)
    return [c["addressee_number"] for c in result.changes], result.household_number


def _render_first_page(pdf: bytes, name: str) -> None:
    """The PDF's first page as a PNG beside the screenshots (pdftoppm reads the PDF from stdin)."""
    if shutil.which("pdftoppm") is None:
        return
    folder = OUTPUT / name
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            "-",
            str(folder / "pdf-page-1"),
        ],
        input=pdf,
        capture_output=True,
        check=True,
    )


def test_a_clerk_issues_a_household_certificate_to_the_person_and_a_supervisor_disposes_of_it(
    live: Live, new_page, shot, request
):
    clerk = live.account("clerk", "窓口 証子")
    numbers, _ = _family(live, clerk, "小川", "オガワ")
    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{numbers[0]}")
    page.locator("#issuance-history").wait_for()  # 交付履歴, loaded in place
    assert "交付した証明書はありません" in page.locator("#issuances").inner_text()

    page.keyboard.press("Alt+i")  # 証明書を発行
    page.wait_for_url(re.compile(r".*/ui/certificates/new\?addressee_number=\d+$"))
    expect(page.locator("#f-kind")).to_be_focused()  # 住民票の写し, chosen and focused
    assert page.locator("input[name=addressee_numbers]:checked").count() == 4  # 世帯: every member
    assert (
        page.is_checked("#f-requester-type")
        and page.input_value("#f-requester-addressee_number") == numbers[0]
    )
    assert page.locator("#f-requester-reason").is_hidden()  # only for a third party or a public body
    page.locator("#f-include-householder_and_relationship").focus()
    page.keyboard.press("Space")  # 世帯主・続柄
    page.locator("#f-requester-name").focus()
    page.keyboard.type("小川　太郎")  # as the input method types it, with a full-width space
    page.keyboard.press("Tab")
    page.select_option("#f-identity_check-document", "運転免許証")
    page.locator("#f-purpose").focus()
    page.keyboard.type("年金の手続のため")
    shot(page, "form", full_page=True)
    page.keyboard.press("Enter")  # Enter confirms
    page.wait_for_url(re.compile(r".*/ui/certificates/confirm$"))
    summary = page.locator(".cert-summary").inner_text()
    assert "住民票の写し" in summary and "世帯主・続柄" in summary and "300円" in summary
    assert (
        "記載しない" in summary and "小川 花子" in summary and "世帯全員の住民票の原本と相違ない" in summary
    )
    shot(page, "confirm", full_page=True)

    page.keyboard.press("Enter")  # 発行する has the focus
    page.wait_for_url(re.compile(r".*/ui/certificates/issued/\d{8}-\d{6}$"))
    number = page.locator("#issuance-number").inner_text()
    assert page.url.endswith(number) and page.locator("#fee").inner_text() == "300円"
    expect(page.locator("#pdf-link")).to_be_focused()
    shot(page, "issued")
    pdf = page.context.request.get(
        live.url + page.get_attribute("#pdf-link", "href")
    )  # the browser's cookies
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert pdf.headers["x-issuance-number"] == number  # the number the page shows
    _render_first_page(pdf.body(), re.sub(r"[^\w.-]+", "_", request.node.name))
    again = page.context.request.get(live.url + f"/ui/certificates/issued/{number}/pdf")
    assert again.status == 410  # once: a GET never issues again
    digest = hashlib.sha256(pdf.body()).hexdigest()
    page.goto(f"{live.url}/verify/{number}?sha256={digest}")
    answer = json.loads(page.locator("body").inner_text())
    assert answer["matches"] is True and answer["disposed"] is False and answer["kind_name"] == "住民票の写し"
    shot(page, "verify")

    page.goto(f"{live.url}/ui/residents/{numbers[0]}")
    history = page.locator("#issuance-history")
    history.filter(has_text=number).wait_for()
    assert "世帯主・続柄" in history.inner_text() and "運転免許証" in history.inner_text()
    assert history.locator("details.dispose").count() == 0  # a clerk records no disposal
    shot(page, "history", full_page=True)
    assert csp_violations(page) == []

    supervisor = live.account("supervisor", "係長 処分")
    boss = new_page()
    sign_in(boss, live, supervisor)
    boss.goto(f"{live.url}/ui/residents/{numbers[1]}")  # the wife's page: she is on the certificate too
    row = boss.locator(f"#issuance-{number}")
    row.wait_for()
    row.locator("summary").click()
    row.locator("input[name=reason]").fill("請求者の取り違えにより回収")
    row.locator("input[name=reason]").press("Enter")
    boss.wait_for_url(re.compile(rf".*/certificates\?disposed={number}$"))
    assert "処分を記録しました" in boss.locator(".success").inner_text()
    assert "処分済み" in boss.locator(f"#issuance-{number}").inner_text()
    shot(boss, "disposed", full_page=True)
    boss.goto(f"{live.url}/verify/{number}")
    assert json.loads(boss.locator("body").inner_text())["disposed"] is True
    assert csp_violations(boss) == []


def test_a_third_party_asking_for_the_resident_code_is_refused_beside_the_box(live: Live, new_page, shot):
    clerk = live.account("clerk", "窓口 三子")
    numbers, household = _family(live, clerk, "鷹の台", "タカノダイ")
    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/households/{household}")
    page.keyboard.press("Alt+i")
    page.wait_for_url(re.compile(r".*/ui/certificates/new\?household_number=\d+$"))
    for n in numbers[1:]:
        page.uncheck(f"input[name=addressee_numbers][value='{n}']")
    page.check("#f-requester-type-third_party")
    assert page.locator("#f-requester-reason").is_visible()
    assert page.locator("#f-requester-addressee_number").is_hidden()
    page.fill("#f-requester-name", "株式会社 甲野商事")
    page.fill("#f-requester-reason", "売掛金の回収のため（債務者の住所の確認）")
    page.fill("#f-purpose", "訴訟の提起")
    page.check("#f-include-resident_code")  # refused beside the box as soon as it is ticked
    error = page.locator("#err-f-include-resident_code")
    error.filter(has_text="住民票コード・個人番号を記載できません").wait_for()
    assert "forbidden" in error.inner_text()
    expect(page.locator("#f-include-resident_code")).to_have_attribute("aria-invalid", "true")
    shot(page, "inline-refusal", full_page=True)
    page.locator("#f-purpose").press("Enter")  # and at the confirmation, by the service
    page.wait_for_url(re.compile(r".*/ui/certificates/confirm$"))
    assert "第三者（第12条の3）の請求には" in page.locator("#err-f-include-resident_code").inner_text()
    expect(page.locator("#f-include-resident_code")).to_be_focused()
    assert "交付できません" in page.locator("#error-summary").inner_text()
    shot(page, "refused", full_page=True)
    page.keyboard.press("Space")  # untick it: the same request goes on without the number
    page.locator("#f-purpose").press("Enter")
    page.wait_for_url(re.compile(r".*/ui/certificates/confirm$"))
    assert "第三者（第12条の3）" in page.locator(".cert-summary").inner_text()
    assert "住民票コード" not in page.locator(".cert-summary .items").inner_text()
    assert csp_violations(page) == []
    # Nothing else went wrong in the page (inline checks swap only slots that exist); the refusal's 403 is logged.
    assert [m for m in page.console_errors if "status of 403" not in m] == []


def test_a_protected_person_is_refused_to_a_third_party(live: Live, new_page, shot):
    clerk = live.account("clerk", "窓口 五子")
    supervisor = live.account("supervisor", "係長 保護")
    numbers, _ = _family(live, clerk, "花小金井", "ハナコガネイ")
    today = today_jst().isoformat()
    protection.set_measure(
        live.j.uow,
        Actor(supervisor, "係長 保護", "supervisor", "test", procedure="protection"),
        {
            "subject_kind": "person",
            "subject": numbers[1],
            "reason": "DV被害（配偶者からの暴力）",
            "requester": "本人",
            "received_on": today,
            "starts_on": today,
        },
    )
    page = new_page()
    sign_in(page, live, supervisor)
    with page.expect_navigation():
        page.select_option("#procedure", "protection")  # who may see the person: 支援措置に関する事務
    page.goto(f"{live.url}/ui/residents/{numbers[1]}")
    assert "支援措置の対象者です" in page.locator(".banner.protected").inner_text()
    page.click("text=証明書を発行")
    page.wait_for_url(re.compile(r".*/ui/certificates/new\?addressee_number=\d+$"))
    assert "支援措置" in page.locator("#f-addressee_numbers").inner_text()
    for n in (numbers[0], *numbers[2:]):
        page.uncheck(f"input[name=addressee_numbers][value='{n}']")
    page.check("#f-requester-type-third_party")
    page.fill("#f-requester-name", "甲野 一郎")
    page.fill("#f-requester-reason", "訴訟の提起のため（相手方の住所の確認）")
    page.fill("#f-purpose", "訴訟")
    page.locator("#f-purpose").press("Enter")
    page.locator("#refused").wait_for()
    refused = page.locator("#refused").inner_text()
    assert "交付できません" in refused and "protected_record" in refused and "DV" not in refused
    assert "支援措置の対象者を含むため" in page.locator("#err-f-addressee_numbers").inner_text()
    shot(page, "protected-refused", full_page=True)
    assert csp_violations(page) == []
