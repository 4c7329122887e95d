"""自己情報 (やりとり履歴): the resident's card sign-in (`/my/v1`, outside the staff API like `/kiosk/v1`), the resident's
history (`GET /api/v1/my/usage`, API.md) and a supervisor's withheld entries (`/api/v1/usage-withholdings`).

| call | who | body | answer |
|---|---|---|---|
| `POST /my/v1/challenges` | anyone | — | `201 {challenge_id, challenge (base64, 32 bytes), expires_at}` |
| `POST /my/v1/sessions` | the card | `{challenge_id, card_certificate (PEM), pin_result: ok\\|incorrect, signature?}` | `201 {session, expires_at}` |
| `DELETE /my/v1/sessions/current` | the resident | — | `204` |
| `GET /api/v1/my/usage` | the resident (`Authorization: Bearer <session>`) | — | `{entries: [{at, kind, counterpart, procedure, legal_basis, items}], withheld: [...]}` |
| `GET /api/v1/usage-withholdings?addressee_number=` | supervisor (`my:usage:withhold`) | — | `{addressee_number, entries}` |
| `POST /api/v1/usage-withholdings/release` | supervisor | `{addressee_number, entry, reason}` | the entry |
| `POST /api/v1/usage-withholdings/extend` | supervisor | `{addressee_number, entry, reason, until}` | the entry |

The card's codes are the kiosk's: `unauthenticated` (unknown, revoked, suspended or expired card, wrong PIN with
`field: "pin"`, bad signature, stale challenge; a forged, ended or expired session) and `card_locked`. A staff token
on `/api/v1/my/usage` is `403 forbidden` (logged): staff are no resident. A query naming another person is
`403 forbidden`, logged.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from juki.domain.errors import Unauthenticated
from juki.policy.roles import Actor
from juki.services import auth, my_usage
from juki.web.api import ActorDep, JukiDep, terminal
from juki.web.api_kiosk import CardAuthBody, DeskDep
from juki.web.responses import NO_CONTENT, PROBLEMS
from juki.web.schemas import Body, DatePart, Text

my_router = APIRouter(prefix="/my/v1", tags=["my"], responses=PROBLEMS)
router = APIRouter(prefix="/api/v1", tags=["my"], responses=PROBLEMS)

_bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Terminal = Annotated[str, Depends(terminal)]
# Query parameters that would name a person (and any 宛名番号-shaped value): the person is the session's.
PERSON_PARAMS = frozenset({"addressee_number", "addressee", "person", "resident", "subject", "number"})
_NUMBER = re.compile(r"\d{10}")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class MyChallenge(Out):
    challenge_id: str
    challenge: str
    expires_at: str


class MySession(Out):
    session: str
    expires_at: str


class UsageEntry(Out):
    at: str
    kind: str
    counterpart: str
    procedure: str
    legal_basis: str
    items: list[str]


class WithheldNotice(Out):
    reason: str
    legal_basis: str
    count: int
    until: str | None


class Usage(Out):
    entries: list[UsageEntry]
    withheld: list[WithheldNotice]


class WithheldEntry(UsageEntry):
    entry: str
    reason: str
    reason_code: str
    exemption: str
    told: bool
    until: str | None
    decided: bool


class Withheld(Out):
    addressee_number: str
    entries: list[WithheldEntry]


class DecisionBody(Body):
    addressee_number: Text = Field(max_length=20)
    entry: Text = Field(max_length=40)
    reason: Text = Field(max_length=500)


class ExtensionBody(DecisionBody):
    until: DatePart


def provision_records(request: Request) -> my_usage.ProvisionRecords:
    """The 中間サーバー's records (the composition root's `provision_records`, or the app's; none: no provisions)."""
    for holder in (request.app.state, request.app.state.juki):
        found = getattr(holder, "provision_records", None)
        if found is not None:
            return found
    return my_usage.NoProvisions()


Records = Annotated[my_usage.ProvisionRecords, Depends(provision_records)]


def _token(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("認証が必要です")
    return creds.credentials


def resident_or_staff(request: Request, j: JukiDep, d: DeskDep, creds: Bearer, term: Terminal) -> Actor:
    """A resident's session token, or a staff token (which the service refuses: staff are no resident)."""
    token = _token(creds)
    if token.startswith(my_usage.TOKEN_PREFIX):
        return my_usage.resident(j.uow, token, term, d.clock)
    return auth.authenticate(j.uow, token, request.headers.get("X-Juki-Procedure"), term)


@my_router.post("/challenges", status_code=201, response_model=MyChallenge)
def challenge(j: JukiDep, d: DeskDep) -> dict[str, Any]:
    return my_usage.new_challenge(j.uow, d.clock)


@my_router.post("/sessions", status_code=201, response_model=MySession)
def sign_in(body: CardAuthBody, j: JukiDep, d: DeskDep, term: Terminal) -> dict[str, Any]:
    return my_usage.sign_in(j.uow, d, body.model_dump(exclude_none=True), term)


@my_router.delete("/sessions/current", status_code=204, responses={204: NO_CONTENT})
def sign_out(j: JukiDep, d: DeskDep, creds: Bearer, term: Terminal) -> Response:
    token = _token(creds)
    actor = my_usage.resident(j.uow, token, term, d.clock)
    my_usage.sign_out(j.uow, actor, token, d.clock)
    return Response(status_code=204)


@router.get("/my/usage", response_model=Usage)
def usage(
    request: Request, j: JukiDep, records: Records, actor: Annotated[Actor, Depends(resident_or_staff)]
) -> dict[str, Any]:
    """The signed-in resident's history: provisions, transfers and staff views of their data (API.md)."""
    named = [v for k, v in request.query_params.multi_items() if k in PERSON_PARAMS or _NUMBER.fullmatch(v)]
    return my_usage.usage(j.uow, actor, records, named)


@router.get("/usage-withholdings", response_model=Withheld)
def withheld(
    j: JukiDep,
    records: Records,
    actor: ActorDep,
    addressee_number: Annotated[str, Query(max_length=20)],
) -> dict[str, Any]:
    """A person's entries withheld now from their やりとり履歴, with the reason, the exemption cited and the date."""
    return my_usage.withheld(j.uow, actor, addressee_number, records)


@router.post("/usage-withholdings/release", response_model=WithheldEntry)
def release(body: DecisionBody, j: JukiDep, records: Records, actor: ActorDep) -> dict[str, Any]:
    return my_usage.decide(j.uow, actor, "release", body.model_dump(), records)


@router.post("/usage-withholdings/extend", response_model=WithheldEntry)
def extend(body: ExtensionBody, j: JukiDep, records: Records, actor: ActorDep) -> dict[str, Any]:
    return my_usage.decide(j.uow, actor, "extend", body.model_dump(), records)
