"""/kiosk/v1: the コンビニ交付 API for kiosks (MFPs), outside /api/v1 and its staff tokens.

A kiosk is authenticated by the client certificate of its TLS connection, which the server hands to the app as
the ASGI TLS extension (`scope["extensions"]["tls"]["client_cert_chain"]`): uvicorn with
`ssl_cert_reqs=CERT_REQUIRED` and the kiosk CA, through `adapters.kiosk_tls.KioskTLSProtocol` (which adds the
extension uvicorn does not; Hypercorn adds it itself). Nothing a client sends can set it, so a request that did not
come over such a connection has no kiosk certificate and is refused (`401 unauthenticated`, logged), and the
service checks the certificate again whatever the TLS layer did (the kiosk CA, its validity, the pinned
certificate of an active registered kiosk). The card session's token travels in `X-Kiosk-Session`.

Behind a TLS terminator (nginx verifying the kiosk's certificate and forwarding it URL-encoded in
`X-SSL-Client-Cert`, its `$ssl_client_escaped_cert`), the header is taken — only when the TCP peer is one of
`JUKI_TRUSTED_PROXIES` (IPs / CIDRs; empty by default: never). From any other peer the header is ignored, and a
request with no other certificate is refused and logged (`reason=untrusted_proxy_header`); an unreadable header
from a trusted proxy is refused as well (`malformed_header`). The certificate is then checked exactly as one from a
direct connection. The peer is the connection's: run the app behind the proxy without uvicorn's proxy headers
(`--no-proxy-headers`), which would put the X-Forwarded-For address in its place.

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

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import Field, StrictStr

from juki.config import IPNetwork
from juki.policy.roles import Actor
from juki.services import kiosk_issuance, kiosk_session
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS, KioskDesk
from juki.web.api import JukiDep
from juki.web.kiosk_responses import CardSession, Challenge, KioskStatus
from juki.web.schemas import Body, KioskCertificateBody, Text

router = APIRouter(prefix="/kiosk/v1", tags=["kiosk"])


def desk(request: Request) -> KioskDesk:
    """The composition root's kiosk desk (`Juki.kiosk_desk`); a test may put its own in `app.state.kiosk_desk`."""
    state = request.app.state
    chosen: KioskDesk | None = getattr(state, "kiosk_desk", None)
    if chosen is None:
        chosen = state.juki.kiosk_desk
    return chosen


DeskDep = Annotated[KioskDesk, Depends(desk)]


CERT_HEADER = "X-SSL-Client-Cert"  # nginx: proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
MAX_HEADER_CHARS = 3 * MAX_CERTIFICATE_CHARS  # URL-encoding at most triples a PEM


@dataclass(frozen=True)
class ClientCertificate:
    """The kiosk's client certificate as this request carries it: `pem` (None: none to take), how it came (`via`
    "tls": the app's own TLS connection; "proxy": a trusted TLS terminator's header), the peer to log, and why a
    header was not taken (`refused`)."""

    pem: str | None
    via: str
    peer: str
    refused: str | None = None


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return found


def trusted_proxy(host: str | None, networks: Sequence[IPNetwork]) -> bool:
    """Whether the TCP peer is one of the configured TLS terminators (`JUKI_TRUSTED_PROXIES`)."""
    address = _address(host)
    return address is not None and any(address in net for net in networks)


def _from_header(values: list[str]) -> tuple[str | None, str | None]:
    """nginx's `$ssl_client_escaped_cert` → (PEM, None), or (None, why not). Empty: the proxy saw no certificate."""
    if len(values) != 1:
        return None, "malformed_header"  # a proxy sets it once; two are a client's attempt that got through
    text = values[0].strip()
    if not text:
        return None, None
    if len(text) > MAX_HEADER_CHARS:
        return None, "malformed_header"
    try:
        pem = unquote(text, errors="strict")
    except UnicodeDecodeError:
        return None, "malformed_header"
    if "-----BEGIN CERTIFICATE-----" not in pem or len(pem) > MAX_CERTIFICATE_CHARS:
        return None, "malformed_header"
    return pem, None


def client_certificate(request: Request, trusted: Sequence[IPNetwork] = ()) -> ClientCertificate:
    """The client certificate (PEM) the kiosk presented: the one a trusted TLS terminator forwards in
    `X-SSL-Client-Cert` when the peer is one of `trusted`, else the app's own TLS connection's (ASGI TLS
    extension). A header from any other peer is never taken."""
    host = request.client.host if request.client else None
    peer = (host or "unknown")[:100]
    headers = request.headers.getlist(CERT_HEADER)
    if headers and trusted_proxy(host, trusted):
        pem, refused = _from_header(headers)
        behind = _address(request.headers.get("X-Real-IP"))  # the kiosk's address, as the proxy saw it
        return ClientCertificate(pem, "proxy", f"{behind} via {peer}"[:100] if behind else peer, refused)
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    first = next(iter(chain), None)
    if isinstance(first, str) and first:
        return ClientCertificate(first, "tls", peer)
    return ClientCertificate(None, "tls", peer, "untrusted_proxy_header" if headers else None)


def current_kiosk(request: Request, j: JukiDep, d: DeskDep) -> Actor:
    presented = client_certificate(request, j.settings.trusted_proxy_networks())
    return kiosk_session.identify(
        j.uow, d, presented.pem, presented.peer, via=presented.via, missing=presented.refused
    )


KioskDep = Annotated[Actor, Depends(current_kiosk)]
SessionHeader = Annotated[str | None, Header(alias="X-Kiosk-Session", max_length=100)]


class CardAuthBody(Body):
    challenge_id: Text = Field(max_length=40)
    card_certificate: StrictStr = Field(max_length=8000)  # the user certificate, PEM (lines: not a Text)
    pin_result: Literal["ok", "incorrect"]  # what the card's chip said of the PIN
    signature: Text | None = Field(default=None, max_length=2048)  # base64, over the challenge's bytes


@router.get("/status", response_model=KioskStatus)
def status(actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk_session.status(d, actor)


@router.post("/challenges", status_code=201, response_model=Challenge)
def challenge(j: JukiDep, actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk_session.new_challenge(j.uow, d, actor)


@router.post("/sessions", status_code=201, response_model=CardSession)
def card_session(body: CardAuthBody, j: JukiDep, actor: KioskDep, d: DeskDep) -> dict[str, Any]:
    return kiosk_session.authenticate(j.uow, d, actor, body.model_dump(exclude_none=True))


@router.delete("/sessions/current", status_code=204)
def end_card_session(j: JukiDep, actor: KioskDep, d: DeskDep, session: SessionHeader = None) -> Response:
    kiosk_session.end_session(j.uow, d, actor, session)
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
    issued = kiosk_issuance.issue(j.uow, d, actor, session, body.model_dump(exclude_none=True))
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
