"""本人確認 with the 個人番号カード in the browser (seed ⑩): at 「個人番号カード」 the clerk pastes the card's user
certificate (a card reader gives it) into 「カードで本人確認」 and the holder's page opens — no name typed; from another
person's page the same card is refused as someone else's, on the form, with its code.

The card is handed over first through the services, as the counter and the simulated J-LIS would: an application,
J-LIS's reports up to 市区町村到着 with a card of the test J-LIS CA the served register trusts, and the 交付."""

from __future__ import annotations

import dataclasses
import re

from playwright.sync_api import expect

from juki.adapters.pki import TrustAnchors, kiosk_desk, kiosk_pki_dir
from juki.domain.dates import today_jst
from juki.policy.roles import CS_SYSTEM, Actor
from juki.services import card_applications, filings
from juki.sim.pki import SimCard, create_test_pki, issue_card
from tests import factories as f
from tests.ui.conftest import Live, csp_violations, sign_in


@dataclasses.dataclass
class Counter:
    trust: TrustAnchors
    clerk: Actor


def _counter(live: Live, clerk: str) -> tuple[Counter, SimCard, list[str]]:
    """A family moved in, the householder's card handed over (the served register trusts the test J-LIS CA)."""
    folder = kiosk_pki_dir(live.j.settings)
    card_ca, _ = create_test_pki(folder)
    live.server.config.app.state.kiosk_desk = kiosk_desk(live.j.settings, live.j.certificate_office)
    counter = Counter(TrustAnchors.from_dir(folder), Actor(clerk, "窓口", "clerk", "test"))
    today = today_jst()
    people = [dict(p, family_name="桜井", family_name_kana="サクライ") for p in f.family_of_four()]
    body = f.move_in(people, filed_on=today.isoformat(), changed_on=today.isoformat())
    numbers = [
        c["addressee_number"] for c in filings.file(live.j.uow, counter.clerk, "move-in", body).changes
    ]
    applied = card_applications.apply(live.j.uow, counter.clerk, numbers[0], "new", today.isoformat())
    card = issue_card(card_ca)
    key = applied["application_id"]
    card_applications.record_report(
        live.j.uow, counter.trust, CS_SYSTEM, key, "arrived", card.certificate_pem
    )
    card_applications.handover(live.j.uow, counter.trust, counter.clerk, key, True, ["driver_license"], True)
    return counter, card, numbers


def test_the_card_opens_its_holders_page_without_a_name_typed(live: Live, new_page, shot):
    clerk = live.account("clerk", "窓口 確子")
    _, card, numbers = _counter(live, clerk)

    page = new_page()
    sign_in(page, live, clerk)
    page.get_by_role("link", name="個人番号カード").click()
    expect(page).to_have_url(re.compile(r".*/ui/card-applications$"))
    expect(page.get_by_role("heading", name="カードで本人確認")).to_be_visible()
    page.locator("#f-certificate").fill(card.certificate_pem)  # what the card reader read
    shot(page, "identify")
    page.get_by_role("button", name="カードで本人確認").click()

    expect(page).to_have_url(re.compile(rf".*/ui/residents/{numbers[0]}$"))
    expect(page.locator("h1")).to_contain_text("桜井")
    expect(page.locator("#card-applications")).to_contain_text("交付済")  # loaded in place
    shot(page, "holder")

    # from the wife's page, the householder's card is someone else's: refused on the form, the page stays
    page.goto(f"{live.url}/ui/residents/{numbers[1]}")
    page.get_by_role("link", name="この方のカードで本人確認").click()
    expect(page).to_have_url(re.compile(rf".*/ui/cards/identify\?addressee_number={numbers[1]}$"))
    expect(page.locator("#f-certificate")).to_be_focused()
    page.keyboard.insert_text(card.certificate_pem)
    page.get_by_role("button", name="カードで本人確認").click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("照会中の住民のものではありません")
    expect(alert).to_contain_text("card_holder_mismatch")
    expect(page).to_have_url(re.compile(r".*/ui/cards/identify$"))
    shot(page, "mismatch")
    assert csp_violations(page) == []
