"""/kiosk/v1: the コンビニ交付 API for kiosks (MFPs), outside /api/v1 and its staff tokens.

A kiosk is authenticated by the client certificate of its TLS connection, which the server hands to the app as
the ASGI TLS extension (`scope["extensions"]["tls"]["client_cert_chain"]`): uvicorn with
`ssl_cert_reqs=CERT_REQUIRED` and the kiosk CA, through `adapters.kiosk_tls.KioskTLSProtocol` (which adds the
extension uvicorn does not; Hypercorn adds it itself). Nothing a client sends can set it — no header is trusted —
so a request that did not come over such a connection has no kiosk certificate and is refused (`401
unauthenticated`, logged), and the service checks the certificate again whatever the TLS layer did (the kiosk
CA, its validity, the pinned certificate of an active registered kiosk). The card session's token travels in
`X-Kiosk-Session`.

| call | body | answer |
|---|---|---|
| `GET /kiosk/v1/status` | — | `{kiosk_id, open, hours, now}` |
| `POST /kiosk/v1/challenges` | — | `201 {challenge_id, challenge (base64, 32 bytes), expires_at}` |
| `POST /kiosk/v1/sessions` | `{challenge_id, card_certificate (PEM), pin_result: ok|incorrect, signature (base64)?}` | `201 {session, expires_at, holder, household, offer}` |
| `POST /kiosk/v1/certificates` | `{scope: self|household|members, addressee_numbers?, include: {householder_and_relationship?, honseki?}, copies?}` | `201 application/pdf`, `X-Issuance-Number(s)`, `X-Issuance-Fee`, `X-Content-SHA256`, `X-Verify-URL` |
| `DELETE /kiosk/v1/sessions/current` | — | `204` |

Codes: `unauthenticated` (no or bad kiosk certificate, unknown / revoked / expired card, wrong PIN with
`field: "pin"`, bad signature, stale challenge or session), `card_locked`, `outside_service_hours`,
`refer_to_counter` (「窓口でお問い合わせください」, never why), `forbidden` (another household's person),
`invalid_field`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import Field, StrictBool, StrictInt, StrictStr

from juki.adapters.pki import kiosk_desk
from juki.policy.roles import Actor
from juki.services import kiosk
from juki.services.kiosk import KioskDesk
from juki.web.api import JukiDep
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/kiosk/v1", tags=["kiosk"])


def desk(request: Request) -> KioskDesk:
    """The desk for this app, built once (the trust anchors are read then); tests may set `app.state.kiosk_desk`."""
    state = request.app.state
    if getattr(state, "kiosk_desk", None) is None:
        state.kiosk_desk = kiosk_desk(state.juki.settings, state.juki.certificate_office)
    built: KioskDesk = state.kiosk_desk
    return built


DeskDep = Annotated[KioskDesk, Depends(desk)]


def client_certificate(request: Request) -> str | None:
    """The client certificate (PEM) the TLS connection presented, from the ASGI TLS extension."""
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    first = next(iter(chain), None)
    return first if isinstance(first, str) else None


def current_kiosk(request: Request, j: JukiDep, d: DeskDep) -> Actor:
    peer = request.client.host if request.client else "unknown"
    return kiosk.identify(j.uow, d, client_certificate(request), peer)


KioskDep = Annotated[Actor, Depends(current_kiosk)]
SessionHeader = Annotated[str | None, Header(alias="X-Kiosk-Session", max_length=100)]


class CardAuthBody(Body):
    challenge_id: Text = Field(max_length=40)
    card_certificate: StrictStr = Field(max_length=8000)  # the user certificate, PEM (lines: not a Text)
    pin_result: Literal["ok", "incorrect"]  # what the card's chip said of the PIN
    signature: Text | None = Field(default=None, max_length=2048)  # base64, over the challenge's bytes


class KioskIncludeIn(Body):
    householder_and_relationship: StrictBool = False
    honseki: StrictBool = False


class KioskCertificateBody(Body):
    kind: Text = Field(default="residence_certificate", max_length=40)
    scope: Literal["self", "household", "members"] = "self"
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)
    include: KioskIncludeIn = Field(default_factory=KioskIncludeIn)
    copies: StrictInt = 1


@router.get("/status")
def status(actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk.status(d, actor)


@router.post("/challenges", status_code=201)
def challenge(j: JukiDep, actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk.new_challenge(j.uow, d, actor)


@router.post("/sessions", status_code=201)
def card_session(body: CardAuthBody, j: JukiDep, actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk.authenticate(j.uow, d, actor, body.model_dump(exclude_none=True))


@router.delete("/sessions/current", status_code=204)
def end_card_session(j: JukiDep, actor: KioskDep, d: DeskDep, session: SessionHeader = None) -> Response:
    kiosk.end_session(j.uow, d, actor, session)
    return Response(status_code=204)


@router.post(
    "/certificates",
    status_code=201,
    response_class=Response,
    responses={201: {"content": {"application/pdf": {}}, "description": "the certificate"}},
)
def issue_certificate(
    body: KioskCertificateBody, j: JukiDep, actor: KioskDep, d: DeskDep, session: SessionHeader = None
) -> Response:
    issued = kiosk.issue(j.uow, d, actor, session, body.model_dump(exclude_none=True))
    return Response(
        issued.pdf,
        status_code=201,
        media_type="application/pdf",
        headers={
            "X-Issuance-Number": issued.issuance_number,
            "X-Issuance-Numbers": ",".join(issued.issuance_numbers),
            "X-Issuance-Fee": str(issued.fee),
            "X-Issuance-Pages": str(issued.pages),
            "X-Content-SHA256": issued.sha256,
            "X-Verify-URL": d.office.verify_url(issued.issuance_number),
            "Content-Disposition": f'inline; filename="{issued.issuance_number}.pdf"',
        },
    )
