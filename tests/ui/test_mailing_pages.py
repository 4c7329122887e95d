"""送付先情報 in the browser: a clerk finds a record J-LIS refused, with its code and item, and builds it again; a
protected child's held record is not on the clerk's list, but the supervisor acting for 支援措置 sees it with its
reason and registers the child's 居所, after which the record waits to go, addressed to the 居所; the clerk sets a
record's special circumstance."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect

from juki.domain.dates import today_jst
from juki.domain.identifiers import generate_my_number, generate_resident_code
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import filings, mailing, numbers, protection
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in


def _family(live: Live, clerk: Actor) -> str:
    today = today_jst()
    people = [
        f.person(
            family_name="府中", family_name_kana="フチュウ", given_name="一成", given_name_kana="カズナリ"
        )
    ]
    body = f.move_in(
        people,
        filed_on=(today - timedelta(days=28)).isoformat(),
        changed_on=(today - timedelta(days=30)).isoformat(),
        address={"address": f.ADDRESS, "katagaki": "府中荘101"},
    )
    return str(filings.file(live.j.uow, clerk, "move-in", body).household_number)


def _born(live: Live, clerk: Actor, household: str, given: str, kana: str) -> str:
    child = f.person(
        "子", family_name="府中", family_name_kana="フチュウ", given_name=given, given_name_kana=kana
    )
    for key in ("my_number", "resident_code", "birth_date"):
        child.pop(key)
    today = today_jst()
    body = {
        "filed_on": today.isoformat(),
        "birth_date": (today - timedelta(days=10)).isoformat(),
        "household_number": household,
        "person": child,
    }
    return str(filings.file(live.j.uow, clerk, "birth", body).changes[0]["addressee_number"])


def _assign(live: Live, number: str, rng: random.Random) -> str:
    [request] = [r for r in numbers.open_requests(live.j.uow, CS_SYSTEM) if r.addressee_number == number]
    answer = numbers.NumberAnswer(request.request_id, request.resident_code, generate_my_number(rng))
    numbers.assign(live.j.uow, CS_SYSTEM, answer, on_assigned=mailing.on_assigned(live.j.settings))
    with live.j.uow() as uow:
        return uow.mailing.open_records_of(number)[-1].record_id


def test_the_counter_rebuilds_a_refused_record_and_the_supervisor_sends_a_protected_childs_to_its_residence(
    live: Live, new_page, shot
):  # type: ignore[no-untyped-def]
    rng = random.Random(uuid.uuid4().int)
    codes = sorted({generate_resident_code(rng) for _ in range(10)})
    numbers.receive_codes(live.j.uow, CS_SYSTEM, f"UI-{uuid.uuid4().hex[:8]}", codes)
    clerk_name, boss_name = live.account("clerk", "窓口 八郎"), live.account("supervisor", "係長 八子")
    clerk = Actor(clerk_name, "窓口 八郎", "clerk", "test")
    boss = Actor(boss_name, "係長 八子", "supervisor", "test", procedure="protection")
    household = _family(live, clerk)

    refused_child = _born(live, clerk, household, "二葉", "フタバ")
    refused = _assign(live, refused_child, rng)
    mailing.delivered(live.j.uow, CS_SYSTEM, refused)
    mailing.refused(live.j.uow, CS_SYSTEM, refused, "E0101", "送付先住所 漢字")
    protected_child = _born(live, clerk, household, "三葉", "ミツバ")
    protection.set_measure(live.j.uow, boss, f.support_measure(protected_child))
    held = _assign(live, protected_child, rng)

    page = new_page()
    sign_in(page, live, clerk_name)
    page.get_by_role("link", name="送付先情報").click()
    expect(page).to_have_url(re.compile(r".*/ui/mailing$"))
    refused_row = page.locator(f"#r-{refused}")
    expect(refused_row).to_contain_text("返戻 E0101・送付先住所 漢字")
    expect(refused_row).to_contain_text("府中\u3000一成")  # to the householder, at the address with its 方書
    expect(refused_row).to_contain_text("府中荘101")
    expect(page.locator(f"#r-{held}")).to_have_count(0)  # a protected child: not on the clerk's list
    shot(page, "refused")
    refused_row.get_by_role("button", name="作成し直す").click()
    expect(page.locator("p.success")).to_have_text("送付先情報を作成し直しました。")
    expect(page.locator(f"#r-{refused}")).to_have_count(0)
    page.get_by_role("link", name="送付待ち", exact=True).click()
    [rebuilt] = [
        r
        for r in mailing.list_records(live.j.uow, clerk, "ready")["records"]
        if r["addressee_number"] == refused_child
    ]
    row = page.locator(f"#r-{rebuilt['record_id']}")
    expect(row).to_contain_text("送付待ち")
    row.get_by_text("印字区分・特殊事情").click()
    row.get_by_label("特殊事情").fill("施設入所")
    row.get_by_role("button", name="設定する").click()
    expect(page.locator("p.success")).to_have_text("印字区分・特殊事情を設定しました。")
    expect(page.locator(f"#r-{rebuilt['record_id']}")).to_contain_text("通常・施設入所")
    shot(page, "flags-set")

    sup = new_page()
    sign_in(sup, live, boss_name)
    with sup.expect_navigation():
        sup.select_option("#procedure", "protection")
    sup.goto(f"{live.url}/ui/mailing")
    held_row = sup.locator(f"#r-{held}")
    expect(held_row).to_contain_text("支援措置の対象者で、送付先の居所が登録されていない")
    expect(held_row.get_by_role("button", name="この送付先で送付する")).to_have_count(
        0
    )  # not the 支援措置's to file
    held_row.get_by_text("送付先の居所を登録").click()
    held_row.get_by_label("郵便番号").fill("187-0001")
    held_row.get_by_label("居所（方書を含む）").fill("東京都小平市大沼町一丁目1番1号　みどり荘3号")
    shot(sup, "residence-form")
    held_row.get_by_role("button", name="登録する").click()
    expect(sup.locator("p.success")).to_have_text("送付先の居所を登録しました。")
    expect(sup.locator(f"#r-{held}")).to_have_count(0)  # replaced by a record addressed to the 居所
    sup.get_by_role("link", name="送付待ち", exact=True).click()
    moved = sup.locator("table.mailing tr", has_text="みどり荘3号")
    expect(moved).to_contain_text("府中\u3000三葉")  # the child, at the 居所
    expect(moved).to_contain_text("居所あて")
    expect(moved.get_by_role("button", name="居所の登録を終了")).to_be_visible()
    shot(sup, "to-the-residence")
    assert csp_violations(page) == [] and csp_violations(sup) == []
