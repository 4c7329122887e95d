"""個人番号カード at the counter: applications are read by those who read the register and recorded, handed over and
ended by those who file (clerk, supervisor); printing the 交付通知書 names the person as a certificate does
(`certificate:issue`); 本人確認 with a card is a read of the register. J-LIS's side has no HTTP route (the CS's).

The calls use the register's trust anchors as the kiosk registry's cases do (`kiosk_admin._cas`: a test J-LIS CA
set as the register's before its app builds the kiosk desk). A case may be called more than once on one world: each
takes the householder's application under way, or starts one.
"""

from __future__ import annotations

from juki.policy.roles import CERTIFICATE_ISSUE, CS_SYSTEM, REGISTER_FILE, REGISTER_READ
from juki.services import card_applications, kiosk_registry
from juki.sim.pki import issue_card
from tests.e2e.role_cases.common import CLERK, FILERS, READERS, Call, World, needs
from tests.e2e.role_cases.kiosk_admin import _cas

APPLIED_ON = "2025-06-20"
HANDOVER = {"notice_presented": True, "identity_documents": ["driver_license"], "pins_set": True}


def _application(w: World) -> str:
    """The householder's application under way, or a new one."""
    with w.j.uow() as uow:
        app = uow.card_applications.open_of(w.family[0])
    if app is not None:
        return app.application_id
    return str(card_applications.apply(w.j.uow, CLERK, w.family[0], "new", APPLIED_ON)["application_id"])


def _arrived(w: World) -> str:
    """The householder's application with its card at the city (J-LIS's reports, through the CS)."""
    application_id = _application(w)
    with w.j.uow() as uow:
        state = uow.card_applications.get(application_id).state  # type: ignore[union-attr]
    if state in ("applied", "received", "in_production"):
        card_ca, _, trust = _cas(w)
        pem = issue_card(card_ca).certificate_pem
        card_applications.record_report(w.j.uow, trust, CS_SYSTEM, application_id, "arrived", pem)
    return application_id


def _identify(w: World) -> dict[str, str]:
    """The certificate of a card registered for the householder."""
    card_ca, _, trust = _cas(w)
    pem = issue_card(card_ca).certificate_pem
    kiosk_registry.register_card(w.j.uow, trust, CLERK, w.family[0], pem)
    return {"certificate": pem}


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/card-applications"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/card-applications",
            {"addressee_number": w.family[2], "kind": "new", "applied_on": APPLIED_ON},
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("GET", "/api/v1/card-applications"): Call(
        READERS, 200, lambda w: ("/api/v1/card-applications?state=applied", None), needs=needs(REGISTER_READ)
    ),
    ("GET", "/api/v1/card-applications/{application_id}"): Call(
        READERS,
        200,
        lambda w: (f"/api/v1/card-applications/{_application(w)}", None),
        needs=needs(REGISTER_READ),
    ),
    ("GET", "/api/v1/residents/{addressee_number}/card-applications"): Call(
        READERS,
        200,
        lambda w: (f"/api/v1/residents/{w.family[0]}/card-applications", None),
        needs=needs(REGISTER_READ),
    ),
    ("POST", "/api/v1/card-applications/{application_id}/notice"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/card-applications/{_arrived(w)}/notice", None),
        needs=needs(CERTIFICATE_ISSUE),
    ),
    ("POST", "/api/v1/card-applications/{application_id}/handover"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/card-applications/{_arrived(w)}/handover", HANDOVER),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/card-applications/{application_id}/revoke"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/card-applications/{_application(w)}/revoke", {"reason": "withdrawn"}),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/cards/identify"): Call(
        READERS, 200, lambda w: ("/api/v1/cards/identify", _identify(w)), needs=needs(REGISTER_READ)
    ),
}
