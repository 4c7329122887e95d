"""コンビニ交付's registry: kiosks and J-LIS's revocation list are the administrator's (`staff:admin`); a resident's
cards are the counter's — listed by those who read the register, registered, suspended and unlocked by those who
file (clerk, supervisor).

The calls need the trust anchors of the register the matrix serves: a test PKI in a folder of this process, set as
`JUKI_KIOSK_PKI_DIR` of that register before its app first builds its kiosk desk (which reads the anchors once).
"""

from __future__ import annotations

import base64
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from juki.adapters.pki import TrustAnchors, pem
from juki.policy.roles import REGISTER_FILE, REGISTER_READ, STAFF_ADMIN, Actor
from juki.services import kiosk_registry
from juki.sim.pki import SimCA, create_test_pki, issue_card, issue_kiosk
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK, FILERS, READERS, Call, World, needs

ADMIN = frozenset({"admin"})
ADMIN_ACTOR = Actor(STAFF["admin"][0], STAFF["admin"][1], "admin", "test")


@cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="juki-roles-kiosk-pki-"))


def _cas(w: World) -> tuple[SimCA, SimCA, TrustAnchors]:
    """The card and kiosk CAs the register trusts (its settings point at them from the first call on)."""
    if w.j.settings.kiosk_pki_dir is None:
        w.j.settings.kiosk_pki_dir = str(_folder())
    folder = Path(w.j.settings.kiosk_pki_dir)
    card_ca, kiosk_ca = create_test_pki(folder)
    return card_ca, kiosk_ca, TrustAnchors.from_dir(folder)


_kiosks = iter(range(1, 10**6))


def new_kiosk(w: World) -> tuple[str, str]:
    """A kiosk id not registered yet, and its certificate (PEM) from the kiosk CA."""
    _, kiosk_ca, _ = _cas(w)
    kiosk_id = f"kiosk-r{next(_kiosks)}"
    _, cert = issue_kiosk(kiosk_ca, kiosk_id)
    return kiosk_id, pem(cert)


def new_kiosk_body(w: World) -> dict[str, str]:
    kiosk_id, certificate = new_kiosk(w)
    return {"kiosk_id": kiosk_id, "name": "コンビニ交付端末（新規）", "certificate": certificate}


def registered_kiosk(w: World) -> str:
    """A kiosk the administrator registered before the call."""
    kiosk_id, certificate = new_kiosk(w)
    kiosk_registry.register_kiosk(
        w.j.uow, _cas(w)[2], ADMIN_ACTOR, kiosk_id, "コンビニ交付端末（試験）", certificate
    )
    return kiosk_id


def card_certificate(w: World) -> str:
    card_ca, _, _ = _cas(w)
    return issue_card(card_ca).certificate_pem


def registered_card(w: World) -> str:
    """The serial of a card the counter registered for the householder before the call."""
    return str(
        kiosk_registry.register_card(w.j.uow, _cas(w)[2], CLERK, w.family[0], card_certificate(w))["serial"]
    )


def revocation_list(w: World) -> dict[str, Any]:
    """J-LIS's CRL (as JSON: the matrix sends JSON bodies) revoking a card registered before the call."""
    card_ca, _, _ = _cas(w)
    serial = int(registered_card(w), 16)
    crl = card_ca.crl([(serial, datetime.now(UTC))])
    return {"crl": base64.b64encode(crl).decode()}


def cards_of_householder(w: World) -> str:
    registered_card(w)  # one card to list
    return f"/api/v1/residents/{w.family[0]}/cards"


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/api/v1/kiosks"): Call(ADMIN, 200, lambda w: ("/api/v1/kiosks", None), needs=needs(STAFF_ADMIN)),
    ("POST", "/api/v1/kiosks"): Call(
        ADMIN,
        201,
        lambda w: (
            "/api/v1/kiosks",
            new_kiosk_body(w),
        ),
        needs=needs(STAFF_ADMIN),
    ),
    ("POST", "/api/v1/kiosks/{kiosk_id}/retire"): Call(
        ADMIN, 200, lambda w: (f"/api/v1/kiosks/{registered_kiosk(w)}/retire", None), needs=needs(STAFF_ADMIN)
    ),
    ("POST", "/api/v1/card-revocations"): Call(
        ADMIN, 200, lambda w: ("/api/v1/card-revocations", revocation_list(w)), needs=needs(STAFF_ADMIN)
    ),
    ("GET", "/api/v1/residents/{addressee_number}/cards"): Call(
        READERS, 200, lambda w: (cards_of_householder(w), None), needs=needs(REGISTER_READ)
    ),
    ("POST", "/api/v1/cards"): Call(
        FILERS,
        201,
        lambda w: ("/api/v1/cards", {"addressee_number": w.family[1], "certificate": card_certificate(w)}),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/cards/{serial}/state"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/cards/{registered_card(w)}/state", {"state": "suspended"}),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/cards/{serial}/unlock"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/cards/{registered_card(w)}/unlock", None),
        needs=needs(REGISTER_FILE),
    ),
}
