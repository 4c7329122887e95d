"""/api/v1: thin routes — authenticate, hand the body to a service, shape the answer."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from juki.bootstrap import Juki
from juki.domain.errors import InvalidField, Unauthenticated
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.policy.roles import Actor
from juki.services import auth, card_moves, filings, register_queries
from juki.web import schemas
from juki.web.responses import NO_CONTENT, PROBLEMS
from juki.web.responses import register as answers
from juki.web.responses.auth import Token

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
_bearer = HTTPBearer(auto_error=False)


def juki(request: Request) -> Juki:
    app_juki: Juki = request.app.state.juki
    return app_juki


def terminal(request: Request, x_juki_terminal: Annotated[str | None, Header()] = None) -> str:
    return (x_juki_terminal or (request.client.host if request.client else "unknown"))[:100]


def current_actor(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    term: Annotated[str, Depends(terminal)],
    x_juki_procedure: Annotated[str | None, Header(max_length=40)] = None,
) -> Actor:
    """The signed-in staff member, acting for the procedure (事務) the request names (else the role's default)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("認証が必要です")
    return auth.authenticate(juki(request).uow, creds.credentials, x_juki_procedure, term)


ActorDep = Annotated[Actor, Depends(current_actor)]
JukiDep = Annotated[Juki, Depends(juki)]


@router.post("/auth/login", tags=["auth"], response_model=Token)
def login(body: schemas.LoginBody, j: JukiDep, term: Annotated[str, Depends(terminal)]) -> dict[str, Any]:
    s = j.settings
    token = auth.login(
        j.uow,
        body.username,
        body.password,
        body.otp,
        term,
        s.token_ttl_seconds,
        s.max_failed_logins,
        s.login_rate_limit,
    )
    return {"access_token": token.access_token, "token_type": "bearer", "expires_in": token.expires_in}


@router.post("/auth/logout", status_code=204, tags=["auth"], responses={204: NO_CONTENT})
def logout(
    j: JukiDep, actor: ActorDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Response:
    if creds is not None:
        auth.logout(j.uow, creds.credentials, actor)
    return Response(status_code=204)


def filing_answer(result: filings.FilingResult, response: Response) -> dict[str, Any]:
    if result.approval_state == "pending":
        response.status_code = 202
        return {"filing_id": result.filing_id, "approval_state": "pending"}
    return {
        "filing_id": result.filing_id,
        "household_number": result.household_number,
        "changes": result.changes,
        "late": result.late,
        "warnings": result.warnings,
    }


# A change that needs a supervisor's approval (an ex officio one) answers 202 with its state alone.
PENDING: dict[int | str, dict[str, Any]] = {
    202: {"model": answers.FilingState, "description": "waiting for a supervisor's approval"}
}


def _add_filing_route(kind: str, model: type[schemas.Body]) -> None:
    def route(body: model, j: JukiDep, actor: ActorDep, response: Response) -> dict[str, Any]:  # type: ignore[valid-type]
        payload = body.model_dump(exclude_none=True)  # type: ignore[attr-defined]
        if kind == "move-in":  # a 特例転入 reads the CS's 転出証明書情報 (services/card_moves.py)
            return filing_answer(
                card_moves.file_move_in(j.uow, j.moveout_certificates, actor, payload), response
            )
        return filing_answer(filings.file(j.uow, actor, kind, payload), response)

    status = 202 if kind.startswith("ex-officio") else 201
    router.add_api_route(
        f"/filings/{kind}",
        route,
        methods=["POST"],
        status_code=status,
        response_model=answers.FilingAnswer,
        responses={} if status == 202 else PENDING,
        tags=["filings"],
        name=f"file_{kind.replace('-', '_')}",
        summary=f"{kind} filing",
    )


for _kind, _model in schemas.BODIES.items():
    _add_filing_route(_kind, _model)


@router.post(
    "/filings/move-out-confirmations",
    status_code=201,
    tags=["filings"],
    response_model=answers.MoveOutConfirmed,
)
def confirm_move_out(body: schemas.MoveOutConfirmationBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """転入通知受理 (標準仕様書 j680, j700): a 転入通知 that came on paper confirms the 消除 of a person who moved out."""
    notice = card_moves.notice_from(body.model_dump())
    return {"filing_id": card_moves.confirm_move_out(j.uow, actor, notice)}


@router.post("/move-out-certificates/lookup", tags=["filings"], response_model=answers.HeldMoveOuts)
def look_up_move_out_certificates(
    body: schemas.MoveOutCertificateLookupBody, j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    """特例転入: the 転出証明書情報 the CS holds, by 住民票コード or by kana name and birth date."""
    return card_moves.look_up(j.uow, j.moveout_certificates, actor, body.model_dump(exclude_none=True))


@router.get("/filings", tags=["filings"], response_model=answers.Filings)
def list_filings(
    j: JukiDep, actor: ActorDep, late: bool | None = None, approval_state: str | None = None
) -> dict[str, Any]:
    return register_queries.list_filings(j.uow, actor, late=late, approval_state=approval_state)


@router.get("/filings/{filing_id}", tags=["filings"], response_model=answers.Filing)
def get_filing(filing_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return register_queries.get_filing(j.uow, actor, filing_id)


@router.post(
    "/filings/{filing_id}/cancel",
    status_code=201,
    tags=["filings"],
    response_model=answers.FilingAnswer,
    responses=PENDING,
)
def cancel_filing(
    filing_id: str, body: schemas.CancelBody, j: JukiDep, actor: ActorDep, response: Response
) -> dict[str, Any]:
    return filing_answer(filings.cancel(j.uow, actor, filing_id, body.model_dump()), response)


@router.get("/approvals", tags=["approvals"], response_model=answers.Filings)
def pending_approvals(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return register_queries.list_filings(j.uow, actor, approval_state="pending")


@router.post(
    "/approvals/{filing_id}/approve",
    status_code=201,
    tags=["approvals"],
    response_model=answers.ApprovalAnswer,
)
def approve(filing_id: str, j: JukiDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    result = filings.decide(j.uow, actor, filing_id, approve=True)
    return {**filing_answer(result, response), "approval_state": result.approval_state}


@router.post("/approvals/{filing_id}/return", tags=["approvals"], response_model=answers.FilingState)
def send_back(filing_id: str, body: schemas.DecisionBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    result = filings.decide(j.uow, actor, filing_id, approve=False, comment=body.comment or "")
    return {"filing_id": result.filing_id, "approval_state": result.approval_state}


@router.get("/residents", tags=["register"], response_model=answers.SearchResults)
def search_residents(
    request: Request, criteria: Annotated[schemas.ResidentsQuery, Query()], j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    if "my_number" in request.query_params:  # refused whatever its value, which is never echoed
        raise InvalidField(
            "個人番号はURLに含められません。POST /api/v1/residents/lookup で照会してください", "my_number"
        )
    return register_queries.search(j.uow, actor, criteria.query())


@router.post("/residents/lookup", tags=["register"], response_model=answers.SearchResults)
def look_up_by_my_number(body: schemas.LookupBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """The exact look-up by My Number (the results of a search): logged as a number look-up, for roles whose
    procedure may search by number. Posted, so the number stays out of URLs and so out of every access log."""
    return register_queries.search(j.uow, actor, {"my_number": body.my_number})


def _include_my_number(include: str | None) -> bool:
    return include is not None and "my_number" in include.split(",")


@router.get(
    "/residents/{addressee_number}",
    tags=["register"],
    response_model=answers.Resident,
    response_model_exclude_unset=True,  # `my_number` stays absent unless asked for
)
def get_resident(
    addressee_number: str,
    j: JukiDep,
    actor: ActorDep,
    include: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    number = validate_addressee_number(addressee_number)
    return register_queries.get_resident(j.uow, actor, number, _include_my_number(include))


@router.get(
    "/residents/{addressee_number}/history",
    tags=["register"],
    response_model=answers.History,
    response_model_exclude_unset=True,  # `my_number` stays absent unless asked for
)
def get_history(
    addressee_number: str,
    j: JukiDep,
    actor: ActorDep,
    include: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    number = validate_addressee_number(addressee_number)
    return register_queries.get_history(j.uow, actor, number, _include_my_number(include))


@router.get(
    "/residents/{addressee_number}/move-out-certificate",
    tags=["register"],
    response_model=answers.MoveOutCertificate,
)
def move_out_certificate(addressee_number: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return register_queries.move_out_certificate_data(
        j.uow, actor, validate_addressee_number(addressee_number)
    )


@router.get(
    "/households/{household_number}",
    tags=["register"],
    response_model=answers.Household,
    response_model_exclude_unset=True,  # a household without a current member: its address line alone
)
def get_household(household_number: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return register_queries.get_household(j.uow, actor, validate_household_number(household_number))


@router.post(
    "/households/{household_number}/member-order", tags=["register"], response_model=answers.MemberOrder
)
def reorder_members(
    household_number: str, body: schemas.MemberOrderBody, j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    """記載順位の変更 (標準仕様書 j1010): the standard order or the clerk's own; answers the new order."""
    return filings.reorder_members(j.uow, actor, household_number, body.model_dump(exclude_none=True))
