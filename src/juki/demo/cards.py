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

from sqlalchemy import select

from juki.adapters import tables as t
from juki.adapters.pki import (
    TrustAnchors,
    create_test_pki,
    issue_card,
    issue_kiosk,
    kiosk_pki_dir,
    pem,
    save_pair,
)
from juki.bootstrap import Juki
from juki.domain.dates import today_jst
from juki.policy.roles import Actor
from juki.services import kiosk_registry, protection

DEMO_KIOSK = "kiosk-demo-01"
DEMO_KIOSK_NAME = "コンビニ交付端末（デモ）小平駅前店"
CARDS = 5


def cards_dir(j: Juki) -> Path:
    return kiosk_pki_dir(j.settings).parent / "demo-cards"


def _actor(accounts: list[dict[str, str]], role: str, procedure: str) -> Actor:
    a = next(a for a in accounts if a["role"] == role)
    return Actor(a["username"], a.get("display_name", a["username"]), role, "demo", procedure=procedure)


def _holders(j: Juki, seed: int) -> list[tuple[str, str]]:
    """(addressee number, note) of the residents who get a card."""
    today = j.today or today_jst()
    adult = date(today.year - 20, today.month, min(today.day, 28))
    r, h = t.residents.c, t.households.c
    with j.engine.connect() as conn:
        fours = conn.execute(
            select(h.householder, h.household_number)
            .where(h.status == "active", h.member_count == 4, h.householder.is_not(None))
            .order_by(h.household_number)
            .limit(50)
        ).all()
        adults = conn.execute(
            select(r.addressee_number, r.household_number)
            .where(r.status == "active", r.birth_date <= adult)
            .order_by(r.addressee_number)
            .limit(5000)
        ).all()
    with j.uow() as uow:
        pairs = [(a, hh) for a, hh in adults] + [(a, hh) for a, hh in fours]
        protected = protection.in_force_for(uow, pairs, for_other_systems=True, operation="certificate")
        members = {hh: [m.addressee_number for m in uow.queries.members(hh)] for _, hh in fours}
    chosen: list[tuple[str, str]] = []
    for householder, hh in fours:
        if not protected & set(members[hh]):
            chosen.append((householder, "4人世帯の世帯主"))
            break
    rng = random.Random(seed)
    ordinary = [a for a, _ in adults if a not in protected and a not in {c for c, _ in chosen}]
    for number in rng.sample(ordinary, min(CARDS - 1 - len(chosen), len(ordinary))):
        chosen.append((number, "住民"))
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
