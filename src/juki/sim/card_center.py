"""A stand-in for J-LIS's 個人番号カード work (the card center: 申請受付, making the card, sending it to the city),
reporting to the register as J-LIS does through the CS — for tests and the demo, never for production.

- `apply_online`: an application J-LIS took in directly (online or by mail), reported as 申請受付; J-LIS names the
  person by their 住民票コード.
- `advance`: the application's next step as J-LIS reports it — 申請 → 申請受付 → 作成中 → 市区町村到着. At 市区町村到着
  the card is made: its key pair and its 利用者証明用電子証明書 from the test J-LIS CA (sim/pki.py, the CA the city
  trusts for cards: `kiosk-pki/card-ca.pem`), the certificate reported with the arrival (交付前設定), the chip's key
  and the certificate kept in `card-center/cards/<serial>.key|.pem` beside the kiosk PKI folder. No PIN is made or
  kept: the holder sets the PINs at the counter.
- `revoke`: J-LIS's 廃止 of an application (it could not make the card).

Each report goes through `services.card_applications.record_report` as the CS (`CS_SYSTEM`); a report delivered
twice changes nothing the second time. `juki sim card-center` runs them from a shell (docs/cards.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from juki.adapters.pki import kiosk_pki_dir
from juki.bootstrap import Juki
from juki.domain import card_applications as rules
from juki.policy.roles import CS_SYSTEM
from juki.services import card_applications
from juki.sim.pki import SimCA, SimCard, create_test_pki, issue_card

NEXT = {
    rules.APPLIED: rules.RECEIVED,
    rules.RECEIVED: rules.IN_PRODUCTION,
    rules.IN_PRODUCTION: rules.ARRIVED,
}


@dataclass(frozen=True)
class Report:
    """What the card center reported, and the card it made (at 市区町村到着)."""

    application: dict[str, Any]
    card: SimCard | None = None


def cards_dir(j: Juki) -> Path:
    return kiosk_pki_dir(j.settings).parent / "card-center" / "cards"


def apply_online(
    j: Juki, resident_code: str, kind: str = "new", applied_on: date | None = None, channel: str = "online"
) -> dict[str, Any]:
    day = applied_on or j.today or date.today()
    return card_applications.receive_from_jlis(j.uow, CS_SYSTEM, resident_code, kind, day, channel)


def _state(j: Juki, application_id: str) -> str:
    with j.uow() as uow:
        app = uow.card_applications.get(rules.check_application_id(application_id))
    if app is None:
        raise LookupError(f"no application {application_id}")
    return app.state


def card_ca(j: Juki) -> SimCA:
    """The test J-LIS CA in the register's kiosk PKI folder (made there if missing), before the register's trust
    anchors are first read: the card center exists before it reports."""
    ca, _ = create_test_pki(kiosk_pki_dir(j.settings))
    return ca


def make_card(j: Juki) -> SimCard:
    """A new card from the test J-LIS CA: its certificate and the chip's key kept in `cards_dir` (no PIN)."""
    card = issue_card(card_ca(j))
    card.save(cards_dir(j))
    return card


def advance(j: Juki, application_id: str, to: str | None = None) -> Report:
    """Report the application's next step (or `to`, a state J-LIS reports); at 市区町村到着 with a new card."""
    card_ca(j)
    target = to or NEXT.get(_state(j, application_id))
    if target is None:
        raise ValueError("the card center has nothing more to report on this application")
    card = make_card(j) if target == rules.ARRIVED else None
    answer = card_applications.record_report(
        j.uow, j.kiosk_desk.trust, CS_SYSTEM, application_id, target, card.certificate_pem if card else None
    )
    return Report(answer, card)


def revoke(j: Juki, application_id: str) -> dict[str, Any]:
    card_ca(j)
    return card_applications.record_report(
        j.uow, j.kiosk_desk.trust, CS_SYSTEM, application_id, rules.REVOKED
    )
