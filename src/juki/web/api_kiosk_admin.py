"""/api/v1: the コンビニ交付 registry — kiosks and J-LIS's revocation list (administrator), residents' My Number cards
(the counter). Thin routes over `services.kiosk_registry`, which checks the permissions and logs every call; the trust
anchors are the kiosk desk's (`web/api_kiosk.desk`).

| call | who | body | answer |
|---|---|---|---|
| `GET /api/v1/kiosks` | admin | — | `{kiosks: [{kiosk_id, name, cert_sha256, state, registered_at, registered_by}], revocations: {count, last_imported_at}}` |
| `POST /api/v1/kiosks` | admin | `{kiosk_id, name, certificate (PEM)}` | `201` the kiosk (registering an id again replaces its certificate and makes it active) |
| `POST /api/v1/kiosks/{kiosk_id}/retire` | admin | — | the kiosk, `state: retired` |
| `POST /api/v1/card-revocations` | admin | the CRL: DER or PEM body, or JSON `{crl: PEM or base64 DER}` | `{listed, added}` |
| `GET /api/v1/residents/{addressee_number}/cards` | clerk, supervisor | — | `{addressee_number, cards: [card]}` |
| `POST /api/v1/cards` | clerk, supervisor | `{addressee_number, certificate (PEM)}` | `201` card |
| `POST /api/v1/cards/{serial}/state` | clerk, supervisor | `{state: active|suspended|revoked}` | card (without `addressee_number`) |
| `POST /api/v1/cards/{serial}/unlock` | clerk, supervisor | — | card (without `addressee_number`) |

A card: `{serial, addressee_number, state, issued_on, expires_on, expired, revoked_by_jlis, pin_failures, locked,
locked_at, usable, registered_at, registered_by, changed_at}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field, StrictStr
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import InvalidField
from juki.domain.identifiers import validate_addressee_number
from juki.services import kiosk_registry
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS, KioskDesk
from juki.web.api import ActorDep, JukiDep
from juki.web.api_kiosk import desk
from juki.web.kiosk_responses import Card, CardList, HeldCard, Kiosk, KioskList, RevocationImport
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1", tags=["kiosk registry"])
DeskDep = Annotated[KioskDesk, Depends(desk)]
KioskId = Annotated[str, Path(max_length=32)]
Serial = Annotated[str, Path(max_length=40)]
MAX_CRL_BYTES = (
    64 * 1024 * 1024
)  # J-LIS's lists are large; a body beyond this is refused before it is read whole


class KioskBody(Body):
    kiosk_id: Text = Field(max_length=32)
    name: Text = Field(max_length=100)
    certificate: StrictStr = Field(max_length=MAX_CERTIFICATE_CHARS)  # PEM (lines: not a Text)


class CardBody(Body):
    addressee_number: Text = Field(max_length=20)
    certificate: StrictStr = Field(max_length=MAX_CERTIFICATE_CHARS)  # the user certificate, PEM


class CardStateBody(Body):
    state: Text = Field(max_length=10)


# --- kiosks (administrator) ----------------------------------------------------------------------------------------


@router.get("/kiosks", response_model=KioskList)
def list_kiosks(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return kiosk_registry.list_kiosks(j.uow, actor)


@router.post("/kiosks", status_code=201, response_model=Kiosk)
def register_kiosk(body: KioskBody, j: JukiDep, actor: ActorDep, d: DeskDep) -> dict[str, Any]:
    return kiosk_registry.register_kiosk(j.uow, d.trust, actor, body.kiosk_id, body.name, body.certificate)


@router.post("/kiosks/{kiosk_id}/retire", response_model=Kiosk)
def retire_kiosk(kiosk_id: KioskId, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return kiosk_registry.retire_kiosk(j.uow, actor, kiosk_id)


def _crl_from_json(raw: bytes) -> bytes:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidField("JSON を解釈できません", "crl") from None
    text = body.get("crl") if isinstance(body, dict) and set(body) == {"crl"} else None
    if not isinstance(text, str) or not text.strip():
        raise InvalidField("crl に失効リスト（PEM または DER の base64）を指定してください", "crl")
    if text.lstrip().startswith("-----BEGIN"):
        return text.encode("ascii", "replace")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("crl は PEM または DER の base64 で指定してください", "crl") from None


@router.post(
    "/card-revocations",
    response_model=RevocationImport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/pkix-crl": {"schema": {"type": "string", "format": "binary"}},
                "application/x-pem-file": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"crl": {"type": "string"}},
                        "required": ["crl"],
                        "additionalProperties": False,
                    }
                },
            },
        }
    },
)
async def import_revocations(request: Request, j: JukiDep, actor: ActorDep, d: DeskDep) -> dict[str, Any]:
    """J-LIS's CRL: the body itself (DER, or PEM `-----BEGIN X509 CRL-----`), or JSON `{"crl": …}`."""
    await run_in_threadpool(
        kiosk_registry.may_import_revocations, j.uow, actor
    )  # before a large body is read
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_CRL_BYTES:
            raise InvalidField("失効リストが大きすぎます", "crl")
    data = bytes(raw)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        data = _crl_from_json(data)
    answer: dict[str, Any] = await run_in_threadpool(
        kiosk_registry.import_revocations, j.uow, d.trust, actor, data
    )
    return answer


# --- cards (the counter) -------------------------------------------------------------------------------------------


@router.get("/residents/{addressee_number}/cards", tags=["register"], response_model=CardList)
def cards_of(addressee_number: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return kiosk_registry.cards_of(j.uow, actor, validate_addressee_number(addressee_number))


@router.post("/cards", status_code=201, response_model=Card)
def register_card(body: CardBody, j: JukiDep, actor: ActorDep, d: DeskDep) -> dict[str, Any]:
    return kiosk_registry.register_card(j.uow, d.trust, actor, body.addressee_number, body.certificate)


@router.post("/cards/{serial}/state", response_model=HeldCard)
def set_card_state(serial: Serial, body: CardStateBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return kiosk_registry.set_card_state(j.uow, actor, serial, body.state)


@router.post("/cards/{serial}/unlock", response_model=HeldCard)
def unlock_card(serial: Serial, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return kiosk_registry.reset_pin_lock(j.uow, actor, serial)
