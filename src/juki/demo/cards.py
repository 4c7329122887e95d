"""Demo My Number cards and a demo kiosk for コンビニ交付.

`issue_demo_cards` makes the test PKI (`kiosk-pki/` beside the demo database: the J-LIS stand-in CA for cards, the
kiosk network's CA, the kiosk API's TLS certificate), registers one kiosk (`kiosk-demo-01`, its certificate and key
in `kiosk-pki/kiosks/`) and gives a few residents a card: the user certificate and its private key in
`demo-cards/<serial>.pem|.key`, the PINs in `demo-cards/cards.json` (owner-only, like demo-accounts.json). The
first card is the householder's of a four-person household; one card belongs to a person under a 支援措置, so the
kiosk's refusal can be seen. `juki sim kiosk` plays an MFP with them.
"""

from __future__ import annotations

import json
import os
import random
from datetime import date
from pathlib import Path
from typing import Any

from juki.adapters.card_store import SqlCardStore
from juki.adapters.pki import TrustAnchors, kiosk_pki_dir, pem
from juki.bootstrap import Juki
from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import kiosk_registry, protection
from juki.sim.pki import create_test_pki, issue_card, issue_kiosk, save_pair

DEMO_KIOSK = "kiosk-demo-01"
DEMO_KIOSK_NAME = "コンビニ交付端末（デモ）小平駅前店"
CARDS = 5


def cards_dir(j: Juki) -> Path:
    return kiosk_pki_dir(j.settings).parent / "demo-cards"


def _actor(accounts: list[dict[str, str]], role: str, procedure: str) -> Actor:
    a = next(a for a in accounts if a["role"] == role)
    return Actor(a["username"], a.get("display_name", a["username"]), role, "demo", procedure=procedure)


def _holders(j: Juki, seed: int) -> list[tuple[str, str]]:
    """(addressee number, note) of the residents who get a card: a four-person household's householder, a few
    adults drawn by the seed, and one person under a 支援措置 (to see the kiosk refuse)."""
    today = j.today or today_jst()
    adult = date(today.year - 20, today.month, min(today.day, 28))
    with j.engine.connect() as conn:  # a set-up read, not a view of persons: no unit of work, no log entry
        store = SqlCardStore(conn)
        fours = store.householders_of_size(4, limit=50)
        adults = store.residents_born_by(adult, limit=5000)
    with j.uow() as uow:
        protected = protection.in_force_for(
            uow, adults + fours, for_other_systems=True, operation="certificate"
        )
        members = {hh: [m.addressee_number for m in uow.queries.members(hh)] for _, hh in fours}
    chosen = [(head, "4人世帯の世帯主") for head, hh in fours if not protected & set(members[hh])][:1]
    rng = random.Random(seed)
    taken = {number for number, _ in chosen}
    ordinary = [a for a, _ in adults if a not in protected and a not in taken]
    chosen += [(n, "住民") for n in rng.sample(ordinary, min(CARDS - 1 - len(chosen), len(ordinary)))]
    shielded = sorted(a for a, _ in adults if a in protected)
    if shielded:
        chosen.append((shielded[0], "支援措置の対象者（コンビニ交付は「窓口でお問い合わせください」）"))
    return chosen


def issue_demo_cards(j: Juki, accounts: list[dict[str, str]], seed: int) -> Path:
    """The test PKI, the demo kiosk and a few residents' cards; returns the cards' list (cards.json)."""
    pki = kiosk_pki_dir(j.settings)
    card_ca, kiosk_ca = create_test_pki(pki)
    trust = TrustAnchors.from_dir(pki)
    key, cert = issue_kiosk(kiosk_ca, DEMO_KIOSK)
    save_pair(pki / "kiosks", DEMO_KIOSK, key, cert)
    kiosk_registry.register_kiosk(
        j.uow, trust, _actor(accounts, "admin", "administration"), DEMO_KIOSK, DEMO_KIOSK_NAME, pem(cert)
    )
    clerk = _actor(accounts, "clerk", "resident_record")
    folder = cards_dir(j)
    listed: list[dict[str, Any]] = []
    for number, note in _holders(j, seed):
        with j.uow() as uow:
            row = uow.queries.resident(number)
            assert row is not None  # _holders picks residents of the register
            name = f"{row.family_name} {row.given_name}"
            size = len(uow.queries.members(row.household_number))
        card = issue_card(card_ca)
        kiosk_registry.register_card(j.uow, trust, clerk, number, card.certificate_pem)
        cert_path, key_path = card.save(folder)
        listed.append(
            {
                "serial": card.serial,
                "addressee_number": number,
                "name": name,
                "household_size": size,
                "pin": card.pin,
                "certificate": str(cert_path),
                "key": str(key_path),
                "note": note,
            }
        )
    path = folder / "cards.json"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"kiosk": DEMO_KIOSK, "cards": listed}, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path
