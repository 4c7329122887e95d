"""What the コンビニ交付 routes answer, as OpenAPI documents it (`response_model` on web/api_kiosk.py and
web/api_kiosk_admin.py).

Each model lists the fields the kiosk services return (services/kiosk_session.py, kiosk_registry.py), in their
order, with their nullability, so the answer is the same with or without it. As every answer model of the API, it
never forbids extra keys: a key a service adds stays in the answer until its model names it. Times and dates are
ISO strings, as the services write them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KioskOut(BaseModel):
    """A kiosk answer (or part of one): keys beyond the declared ones pass through unchanged."""

    model_config = ConfigDict(extra="allow")


# --- /kiosk/v1 (the kiosk) ---------------------------------------------------------------------------------------


class KioskStatus(KioskOut):
    """`GET /kiosk/v1/status`: whether the service is open now, in Japan time."""

    kiosk_id: str
    open: bool
    hours: str
    now: str


class Challenge(KioskOut):
    """`POST /kiosk/v1/challenges`: 32 random bytes (base64) for the card to sign, single-use, this kiosk's."""

    challenge_id: str
    challenge: str
    expires_at: str


class CardHolder(KioskOut):
    addressee_number: str
    name: str


class HouseholdMember(KioskOut):
    """A present member of the holder's household, in 記載順位 (`holder`: the card holder)."""

    addressee_number: str
    name: str
    holder: bool


class Offer(KioskOut):
    """What the kiosk may offer (domain/kiosk.py) and the city's コンビニ交付 fee per copy."""

    kind: str
    kind_name: str
    scopes: list[str]
    include: list[str]
    max_copies: int
    fee_per_copy: int


class CardSession(KioskOut):
    """`POST /kiosk/v1/sessions`: the card session's token (send it as `X-Kiosk-Session`) and whom it is for."""

    session: str
    expires_at: str
    holder: CardHolder
    household: list[HouseholdMember]
    offer: Offer


# --- /api/v1 (the registry) --------------------------------------------------------------------------------------


class Kiosk(KioskOut):
    """A registered kiosk (`state`: active / retired); its certificate is pinned by its SHA-256."""

    kiosk_id: str
    name: str
    cert_sha256: str
    state: str
    registered_at: str | None
    registered_by: str | None


class RevocationList(KioskOut):
    """J-LIS's imported revocation list: how many serials, and when the last import added one."""

    count: int
    last_imported_at: str | None


class KioskList(KioskOut):
    """`GET /api/v1/kiosks`."""

    kiosks: list[Kiosk]
    revocations: RevocationList


class HeldCard(KioskOut):
    """A card as the counter changes it (`/cards/{serial}/…`): without the holder, who is at the counter."""

    serial: str
    state: str
    issued_on: str
    expires_on: str
    expired: bool
    revoked_by_jlis: bool
    pin_failures: int
    locked: bool
    locked_at: str | None
    usable: bool
    registered_at: str | None
    registered_by: str | None
    changed_at: str | None


class Card(KioskOut):
    """A resident's card: never a PIN, never a My Number; `usable`: whether a kiosk would take it today."""

    serial: str
    addressee_number: str
    state: str
    issued_on: str
    expires_on: str
    expired: bool
    revoked_by_jlis: bool
    pin_failures: int
    locked: bool
    locked_at: str | None
    usable: bool
    registered_at: str | None
    registered_by: str | None
    changed_at: str | None


class CardList(KioskOut):
    """`GET /api/v1/residents/{addressee_number}/cards`: the person's cards, oldest first."""

    addressee_number: str
    cards: list[Card]


class RevocationImport(KioskOut):
    """`POST /api/v1/card-revocations`: serials on the list, and how many were new."""

    listed: int
    added: int
