"""コンビニ交付 in the browser: at the counter, a resident whose card locked after three wrong PINs at a kiosk gets it
unlocked from their page (「暗証番号ロック解除」, by keyboard), and a card reported lost is suspended and restored; the
administrator registers a kiosk, retires it and imports J-LIS's revocation list on 「コンビニ交付端末」.

The kiosk's side is played through `services.kiosk_session` with a clock fixed inside the service hours; the kiosk and card
certificates come from the test PKI the served register trusts."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.pki import TrustAnchors, kiosk_desk, kiosk_pki_dir, pem
from juki.domain.dates import JST, today_jst
from juki.domain.errors import DomainError
from juki.policy.roles import Actor
from juki.services import filings, kiosk_registry, kiosk_session
from juki.services.kiosk_desk import KioskDesk, kiosk_actor
from juki.sim.pki import SimCA, SimCard, create_test_pki, issue_card, issue_kiosk
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in

OPEN = datetime(2025, 6, 30, 12, 0, tzinfo=JST)  # a Monday noon: inside the kiosks' hours (06:30–23:00)


@dataclasses.dataclass
class Kiosks:
    folder: Path
    card_ca: SimCA
    kiosk_ca: SimCA
    trust: TrustAnchors
    desk: KioskDesk


def _kiosks(live: Live) -> Kiosks:
    """The test PKI beside the served register (its kiosk desk is read again on the next kiosk request)."""
    folder = kiosk_pki_dir(live.j.settings)
    card_ca, kiosk_ca = create_test_pki(folder)
    served = kiosk_desk(live.j.settings, live.j.certificate_office)  # the trust anchors just written
    live.server.config.app.state.kiosk_desk = served
    desk = dataclasses.replace(served, clock=lambda: OPEN.astimezone(UTC))
    return Kiosks(folder, card_ca, kiosk_ca, TrustAnchors.from_dir(folder), desk)


def _family(live: Live, clerk: str, family_name: str, kana: str) -> list[str]:
    today = today_jst()
    people = [dict(p, family_name=family_name, family_name_kana=kana) for p in f.family_of_four()]
    body = f.move_in(people, filed_on=today.isoformat(), changed_on=(today - timedelta(days=2)).isoformat())
    result = filings.file(live.j.uow, Actor(clerk, "窓口", "clerk", "test"), "move-in", body)
    return [c["addressee_number"] for c in result.changes]


def _wrong_pins(live: Live, k: Kiosks, admin: str, card: SimCard, times: int) -> None:
    """A kiosk reports the chip's refusal of the PIN `times` times (three lock the card)."""
    kiosk_id = f"kiosk-ui-{card.serial[:8]}"
    _, cert = issue_kiosk(k.kiosk_ca, kiosk_id)
    kiosk_registry.register_kiosk(
        live.j.uow, k.trust, Actor(admin, "管理", "admin", "test"), kiosk_id, "試験端末", pem(cert)
    )
    shop = kiosk_actor(kiosk_id, "試験端末")
    for _ in range(times):
        challenge = kiosk_session.new_challenge(live.j.uow, k.desk, shop)
        body = {
            "challenge_id": challenge["challenge_id"],
            "card_certificate": card.certificate_pem,
            "pin_result": "incorrect",
        }
        try:
            kiosk_session.authenticate(live.j.uow, k.desk, shop, body)
        except DomainError as refused:  # あと n 回 (unauthenticated), then card_locked
            assert refused.code in ("unauthenticated", "card_locked")


def _log(live: Live, action: str) -> list[tuple[str, str, list[str], str]]:
    with live.j.engine.connect() as conn:
        rows = conn.execute(
            select(t.operation_log).where(t.operation_log.c.action == action).order_by(t.operation_log.c.seq)
        ).all()
    return [(r.staff_id, r.result, list(r.targets), r.detail) for r in rows]


def test_the_counter_unlocks_a_locked_card_and_suspends_and_restores_it_by_keyboard(
    live: Live, new_page, shot
):
    k = _kiosks(live)
    clerk, admin = live.account("clerk", "窓口 鍵子"), live.account("admin", "管理 端末")
    numbers = _family(live, clerk, "森", "モリ")
    card = issue_card(k.card_ca, now=OPEN)
    kiosk_registry.register_card(
        live.j.uow, k.trust, Actor(clerk, "窓口", "clerk", "test"), numbers[0], card.certificate_pem
    )
    _wrong_pins(live, k, admin, card, 3)

    page = new_page()
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{numbers[0]}")
    section = page.locator("#cards")
    section.locator("#kiosk-cards").wait_for()  # loaded in place
    assert "マイナンバーカード（利用者証明用電子証明書）" in section.inner_text()
    row = section.locator(f"#card-{card.serial}")
    assert "ロック中" in row.inner_text() and "コンビニ交付では利用できません" in row.inner_text()
    section.scroll_into_view_if_needed()
    shot(page, "locked")

    unlock = row.get_by_role("button", name="暗証番号ロック解除")
    unlock.focus()
    page.keyboard.press("Enter")
    section.locator(".success").wait_for()
    assert "暗証番号ロックを解除しました" in section.inner_text()
    row = section.locator(f"#card-{card.serial}")
    assert "ロック中" not in row.inner_text() and "コンビニ交付で利用できます" in row.inner_text()
    assert row.get_by_role("button", name="暗証番号ロック解除").count() == 0
    assert page.url.endswith(f"/ui/residents/{numbers[0]}")  # in place: still the person's page
    [(staff, result, targets, detail)] = _log(live, "card:unlock")
    assert (staff, result, targets) == (clerk, "ok", [numbers[0]]) and "locked=True->False" in detail

    row.get_by_role("button", name="一時停止").focus()
    page.keyboard.press("Enter")
    section.get_by_text("一時停止しました").wait_for()
    row = section.locator(f"#card-{card.serial}")
    assert "一時停止中" in row.inner_text()
    section.scroll_into_view_if_needed()
    shot(page, "suspended")
    row.get_by_role("button", name="利用再開").focus()
    page.keyboard.press("Enter")
    section.get_by_text("利用を再開しました").wait_for()
    assert "コンビニ交付で利用できます" in section.locator(f"#card-{card.serial}").inner_text()
    assert [d for _, _, _, d in _log(live, "card:state")] == [
        f"card={card.serial} state=active->suspended",
        f"card={card.serial} state=suspended->active",
    ]
    # the kiosk takes the card again
    shop = kiosk_actor(f"kiosk-ui-{card.serial[:8]}", "試験端末")
    challenge = kiosk_session.new_challenge(live.j.uow, k.desk, shop)
    signature = card.sign(base64.b64decode(challenge["challenge"]), card.pin)
    session = kiosk_session.authenticate(
        live.j.uow,
        k.desk,
        shop,
        {
            "challenge_id": challenge["challenge_id"],
            "card_certificate": card.certificate_pem,
            "pin_result": "ok",
            "signature": base64.b64encode(signature).decode(),
        },
    )
    assert session["holder"]["addressee_number"] == numbers[0]
    assert csp_violations(page) == []


def test_without_javascript_the_unlock_posts_and_comes_back_to_the_card_page(live: Live, new_page, shot):
    k = _kiosks(live)
    clerk, admin = live.account("clerk", "窓口 無子"), live.account("admin", "管理 無二")
    numbers = _family(live, clerk, "林", "ハヤシ")
    card = issue_card(k.card_ca, now=OPEN)
    kiosk_registry.register_card(
        live.j.uow, k.trust, Actor(clerk, "窓口", "clerk", "test"), numbers[1], card.certificate_pem
    )
    _wrong_pins(live, k, admin, card, 2)

    page = new_page(java_script_enabled=False)
    sign_in(page, live, clerk)
    page.goto(f"{live.url}/ui/residents/{numbers[1]}")
    page.locator("#cards").get_by_role("link", name="カードの状態を表示").click()
    page.wait_for_url(re.compile(rf".*/ui/residents/{numbers[1]}/cards$"))
    assert "誤り 2回" in page.locator(f"#card-{card.serial}").inner_text()
    page.get_by_role("button", name="暗証番号ロック解除").click()
    page.wait_for_url(re.compile(rf".*/ui/residents/{numbers[1]}/cards\?done=unlock$"))
    assert "暗証番号ロックを解除しました" in page.locator(".success").inner_text()
    assert "誤り" not in page.locator(f"#card-{card.serial}").inner_text()
    shot(page, "unlocked-without-js")


def test_the_administrator_registers_and_retires_a_kiosk_and_imports_jliss_crl(
    live: Live, new_page, shot, tmp_path
):
    k = _kiosks(live)
    admin, clerk = live.account("admin", "管理 五郎"), live.account("clerk", "窓口 失子")
    numbers = _family(live, clerk, "池田", "イケダ")
    card = issue_card(k.card_ca, now=OPEN)
    kiosk_registry.register_card(
        live.j.uow, k.trust, Actor(clerk, "窓口", "clerk", "test"), numbers[0], card.certificate_pem
    )
    _, cert = issue_kiosk(k.kiosk_ca, "kiosk-ui-new")
    rogue = SimCA.create("Rogue CA", "nobody")
    _, forged = issue_kiosk(rogue, "kiosk-ui-new")

    page = new_page()
    sign_in(page, live, admin)
    page.get_by_role("link", name="コンビニ交付端末").click()
    page.wait_for_url(re.compile(r".*/ui/kiosks$"))
    expect(page.locator("#f-kiosk_id")).to_be_focused()
    page.keyboard.type("kiosk-ui-new")
    page.keyboard.press("Tab")
    page.keyboard.type("コンビニ交付端末 小川駅前店")
    page.keyboard.press("Tab")
    page.locator("#f-certificate").fill(pem(forged))  # another CA's: refused beside the field
    page.get_by_role("button", name="登録する").click()
    assert "信頼できない発行者" in page.locator("#err-f-certificate").inner_text()
    assert page.locator("#kiosk-kiosk-ui-new").count() == 0
    expect(page.locator("#f-certificate")).to_be_focused()
    page.locator("#f-certificate").fill(pem(cert))
    page.get_by_role("button", name="登録する").click()
    page.wait_for_url(re.compile(r".*/ui/kiosks\?done=register.*"))
    row = page.locator("#kiosk-kiosk-ui-new")
    assert "コンビニ交付端末 小川駅前店" in row.inner_text() and "稼働中" in row.inner_text()

    crl = tmp_path / "jlis.crl"
    crl.write_bytes(k.card_ca.crl([(card.cert.serial_number, OPEN)]))
    page.locator("#f-crl").set_input_files(str(crl))
    page.get_by_role("button", name="失効リストを取り込む").click()
    page.wait_for_url(re.compile(r".*/ui/kiosks\?done=crl.*"))
    assert "掲載 1件、うち新たに失効としたもの 1件" in page.locator(".success").inner_text()
    shot(page, "kiosks", full_page=True)

    row.locator("summary").click()  # 廃止: opens the confirmation
    row.get_by_role("button", name="kiosk-ui-new を廃止する").click()
    page.wait_for_url(re.compile(r".*/ui/kiosks\?done=retire.*"))
    assert "廃止" in page.locator("#kiosk-kiosk-ui-new").inner_text()
    assert [r for _, r, _, _ in _log(live, "kiosk:retire")][-1:] == ["ok"]
    assert csp_violations(page) == []

    # the clerk now sees the card as revoked by J-LIS on the person's page
    other = new_page()
    sign_in(other, live, clerk)
    other.goto(f"{live.url}/ui/residents/{numbers[0]}")
    other.locator("#kiosk-cards").wait_for()
    assert "失効（J-LIS）" in other.locator(f"#card-{card.serial}").inner_text()
