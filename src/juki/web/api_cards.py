"""/api/v1: the 個人番号カード at the counter — 交付申請, 交付通知書, 交付, 廃止, and 本人確認 with the card. Thin
routes over `services.card_applications`, which checks the permissions, screens protected persons and logs every
call; the trust anchors (J-LIS's CA) are the kiosk desk's (`web/api_kiosk.desk`). docs/cards.md.

| call | who | body | answer |
|---|---|---|---|
| `POST /api/v1/card-applications` | clerk, supervisor | `{addressee_number, kind: new|reissue|renewal, applied_on}` | `201` application (with `events`) |
| `GET /api/v1/card-applications?state=…` | clerk, supervisor | — | `{states, applications, truncated}` (by default those under way) |
| `GET /api/v1/card-applications/{application_id}` | clerk, supervisor | — | application with `events` |
| `GET /api/v1/residents/{addressee_number}/card-applications` | clerk, supervisor | — | `{addressee_number, applications}` |
| `POST /api/v1/card-applications/{application_id}/notice` | clerk, supervisor (`certificate:issue`) | — | the 交付通知書, `application/pdf` |
| `POST /api/v1/card-applications/{application_id}/handover` | clerk, supervisor | `{notice_presented, identity_documents: [kind], pins_set: true}` | application with `events` and `card` |
| `POST /api/v1/card-applications/{application_id}/revoke` | clerk, supervisor | `{reason}` | application with `events` |
| `POST /api/v1/cards/identify` | clerk, supervisor | `{certificate (PEM), addressee_number?}` | `{addressee_number, serial, expires_on, locked, status}` |

The card's 一時停止, its lifting and 廃止 after 交付 are the card registry's (`POST /api/v1/cards/{serial}/state`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field, StrictBool, StrictStr

from juki.services import card_applications
from juki.services.kiosk_desk import MAX_CERTIFICATE_CHARS
from juki.web.api import ActorDep, JukiDep
from juki.web.api_kiosk import DeskDep
from juki.web.responses import PDF, PROBLEMS
from juki.web.responses.cards import (
    CardApplicationDetail,
    CardApplicationList,
    IdentifiedCard,
    PersonsCardApplications,
)
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1", tags=["my number cards"], responses=PROBLEMS)
ApplicationId = Annotated[str, Path(max_length=20)]


class ApplicationBody(Body):
    addressee_number: Text = Field(max_length=20)
    kind: Text = Field(default="new", max_length=10)
    applied_on: Text = Field(max_length=10)  # ISO date


class HandoverBody(Body):
    notice_presented: StrictBool  # the 交付通知書 was shown
    identity_documents: list[Annotated[Text, Field(max_length=60)]] = Field(max_length=10)  # kinds only
    pins_set: StrictBool  # the holder set the PINs on the card at the counter (their values never come here)


class RevokeBody(Body):
    reason: Text = Field(max_length=20)


class IdentifyBody(Body):
    certificate: StrictStr = Field(max_length=MAX_CERTIFICATE_CHARS)  # the card's user certificate, PEM
    addressee_number: Text | None = Field(default=None, max_length=20)  # the record the clerk is working on


@router.post("/card-applications", status_code=201, response_model=CardApplicationDetail)
def apply(body: ApplicationBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return card_applications.apply(j.uow, actor, body.addressee_number, body.kind, body.applied_on)


@router.get("/card-applications", response_model=CardApplicationList)
def worklist(
    j: JukiDep, actor: ActorDep, state: Annotated[list[str] | None, Query()] = None
) -> dict[str, Any]:
    """The counter's list: applications in these states (repeat `state`), by default those under way."""
    return card_applications.worklist(j.uow, actor, [s[:20] for s in (state or [])[:10]])


@router.get("/card-applications/{application_id}", response_model=CardApplicationDetail)
def get(application_id: ApplicationId, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return card_applications.get(j.uow, actor, application_id)


@router.get(
    "/residents/{addressee_number}/card-applications",
    tags=["register"],
    response_model=PersonsCardApplications,
)
def of_person(
    addressee_number: Annotated[str, Path(max_length=20)], j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    return card_applications.of_person(j.uow, actor, addressee_number)


@router.post(
    "/card-applications/{application_id}/notice",
    response_class=Response,
    responses={200: {**PDF, "description": "the 交付通知書 (the first print records 交付通知書発送)"}},
)
def notice(application_id: ApplicationId, j: JukiDep, actor: ActorDep) -> Response:
    key, pdf = card_applications.notice(j.uow, actor, application_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="card-notice-{key}.pdf"'},
    )


@router.post("/card-applications/{application_id}/handover", response_model=CardApplicationDetail)
def handover(
    application_id: ApplicationId, body: HandoverBody, j: JukiDep, actor: ActorDep, d: DeskDep
) -> dict[str, Any]:
    return card_applications.handover(
        j.uow, d.trust, actor, application_id, body.notice_presented, body.identity_documents, body.pins_set
    )


@router.post("/card-applications/{application_id}/revoke", response_model=CardApplicationDetail)
def revoke(application_id: ApplicationId, body: RevokeBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return card_applications.revoke(j.uow, actor, application_id, body.reason)


@router.post("/cards/identify", response_model=IdentifiedCard)
def identify(body: IdentifyBody, j: JukiDep, actor: ActorDep, d: DeskDep) -> dict[str, Any]:
    """本人確認 with the card (seed ⑩): whose card this is, for the clerk's screen to open their page."""
    return card_applications.identify(j.uow, d.trust, actor, body.certificate, body.addressee_number)
