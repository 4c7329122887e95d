"""The CS operator's page in the browser: signed in with password, one-time code and the (virtual) authenticator,
the operator reads the notices by state, the latest ones and the error queue, corrects an entry and resends it,
sends a protected person's entry back to the register and discards it — with screenshots under
test-output/ui/<test>/ to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from juki.cs.adapters import tables as t
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services import delivery, intake
from juki.policy.roles import Actor
from juki.services import filings, protection
from tests import factories as f
from tests.cs.fakes import FakePrefecture
from tests.cs.page_support import with_cs
from tests.cs.support import CITY, notices
from tests.leakcheck import spellings
from tests.ui.conftest import Live, _free_port, _serve, _stop, csp_violations
from tests.ui.test_webauthn import _authenticator, _code, _enrol, _enrolment_code, _password_and_code

CODE = "12345678903"


@pytest.fixture(scope="module")
def live_cs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, CsDatabase]]:
    """A served register that is the relying party `localhost`, with its CS beside it."""
    port = _free_port()
    origin = f"http://localhost:{port}"
    folder = tmp_path_factory.mktemp("ui-cs")
    live = _serve(folder / "register.db", port=port, host="localhost", webauthn_rp_id="localhost",
                  webauthn_origin=origin)  # fmt: skip
    cs = with_cs(live.j, folder)
    yield live, cs
    cs.dispose()
    _stop(live)


def _queues(live: Live, cs: CsDatabase) -> dict[str, Any]:
    """A family delivered (受理), one person without a 住民票コード (an error), a protected wife whose later change
    the prefecture refused (an error), the household's 転居 waiting to go (送信待ち) — the wife's held behind her
    error (保留)."""
    clerk = live.account("clerk", "窓口 一郎")
    actor = Actor(clerk, "窓口 一郎", "clerk", "counter-1")
    family = f.family_of_four()
    done = filings.file(live.j.uow, actor, "move-in", f.move_in(family))
    members = [c["addressee_number"] for c in done.changes]
    wife = members[1]
    lone = f.person(
        family_name="髙橋", given_name="一人", family_name_kana="タカハシ", given_name_kana="カズト"
    )
    lone.pop("resident_code")
    filings.file(live.j.uow, actor, "move-in", f.move_in([lone]))
    intake.run_all(live.j.uow, cs.transaction, live.j.event_key, CITY)
    delivery.deliver(cs.transaction, FakePrefecture(), "cs-server")
    boss = Actor("super-x", "係長", "supervisor", "desk-1", procedure="protection")
    protection.set_measure(live.j.uow, boss, f.support_measure(wife))
    with cs.engine.begin() as conn:  # the prefecture refused the wife's notice
        conn.execute(t.notices.update().where(t.notices.c.addressee_number == wife).values(
            state="error", error_code="logic_error", error_item="異動事由",
            error_message="都道府県サーバが通知を受け付けませんでした"))  # fmt: skip
    filings.file(live.j.uow, actor, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": members, "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    intake.run_all(live.j.uow, cs.transaction, live.j.event_key, CITY)
    return {"family": family, "wife": wife, "lone": lone}


def test_the_cs_operator_works_the_error_queue_on_the_page(live_cs, new_page, shot):  # type: ignore[no-untyped-def]
    live, cs = live_cs
    world = _queues(live, cs)
    admin = live.account("admin", "管理 四郎")
    operator = live.account("cs_operator", "CS 五郎")
    page = new_page()
    _authenticator(page)
    _enrol(page, live, operator, _enrolment_code(live, admin, operator), _code(live, operator))
    _password_and_code(page, live, operator, _code(live, operator))
    page.wait_for_url(re.compile(r".*/ui/cs$"))

    assert "住基ネット（市町村CS）に関する事務" in page.locator("h1").inner_text()
    counts = page.locator("table.counts").inner_text()
    assert re.search(r"送信待ち\s+送信済み\s+受理\s+エラー\s+保留\s+破棄", counts)
    assert re.search(r"3件\s+0件\s+3件\s+2件\s+1件\s+0件", counts), counts
    assert "エラーキュー（2件）" in page.locator("h2", has_text="エラーキュー").inner_text()
    assert "転居" in page.locator("table.notices").inner_text()
    text = page.locator("main").inner_text()
    assert "髙橋\u3000一人" in text and "花子" not in text and "ハナコ" not in text
    assert not any(p["my_number"] in spellings(page.content()) for p in world["family"])
    shot(page, "cs-page", full_page=True)

    # 修正して再送: the missing 住民票コード typed in; the notice goes to 送信待ち.
    lone = page.locator("section.cs-entry", has_text="髙橋")
    lone.locator("summary", has_text="修正して再送").click()
    lone.locator('input[name="item-0"]').fill(CODE)  # 住民票コード, the item in error
    shot(page, "correcting")
    lone.get_by_role("button", name="修正して再送する").click()
    page.locator(".success").wait_for()
    assert "修正して再送しました" in page.locator(".success").inner_text()
    assert "エラーキュー（1件）" in page.locator("h2", has_text="エラーキュー").inner_text()
    shot(page, "corrected-and-resent")

    # The protected person's entry: no name, no correction form; sent back with a reason, then discarded.
    entry = page.locator("section.cs-entry")
    assert "支援措置の対象者のため表示しません" in entry.inner_text()
    assert entry.locator("summary", has_text="修正して再送").count() == 0
    entry.locator("summary", has_text="既存住基へ差し戻し").click()
    entry.get_by_role("button", name="既存住基へ差し戻す").click()
    page.locator(".error-box").wait_for()
    assert "理由を入力してください" in page.locator(".error-box").inner_text()
    shot(page, "reason-missing")
    entry = page.locator("section.cs-entry")
    entry.get_by_label("差戻しの理由（既存住基の担当者に伝わります）").fill("異動事由の確認をお願いします")
    entry.get_by_role("button", name="既存住基へ差し戻す").click()
    page.locator(".success", has_text="既存住基へ差し戻しました").wait_for()
    assert "異動事由の確認をお願いします" in page.locator("section.cs-entry").inner_text()
    shot(page, "sent-back")
    entry = page.locator("section.cs-entry")
    entry.locator("summary", has_text="破棄").click()
    entry.get_by_label("破棄の理由").fill("既存住基の職権修正で訂正済み")
    entry.get_by_role("button", name="破棄する").click()
    page.locator(".success", has_text="破棄しました").wait_for()
    assert "エラーになった通知はありません" in page.locator("main").inner_text()
    shot(page, "discarded", full_page=True)
    states = sorted(n.state for n in notices(cs))
    assert states.count("discarded") == 1 and "error" not in states
    assert csp_violations(page) == []
