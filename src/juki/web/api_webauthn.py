"""/api/v1: WebAuthn registration and sign-in for the strong factor. Thin routes; the services check permissions.

Under `/auth/webauthn/` the steps that need no token (signing in, and registering with a challenge already
handed out); under `/webauthn/` what a signed-in account does. The flows are in services/webauthn.py.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, StrictStr

from juki.services import webauthn
from juki.web.api import ActorDep, JukiDep, terminal
from juki.web.responses import NO_CONTENT, PROBLEMS, auth
from juki.web.schemas import Body, LoginBody, Text

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
TerminalDep = Annotated[str, Depends(terminal)]


class EnrolmentOptionsBody(LoginBody):
    enrolment_code: StrictStr = Field(max_length=100)


class AssertionBody(Body):
    challenge_id: StrictStr = Field(max_length=64)
    credential: dict[str, Any]  # the browser's PublicKeyCredential.toJSON()


class RegistrationBody(AssertionBody):
    name: Text | None = Field(default=None, max_length=100)  # a label: "窓口端末3の指紋リーダー"


class EnrolmentCodeBody(Body):
    staff_id: Text = Field(max_length=40)


def _rp(j: Any) -> webauthn.RelyingParty:
    return webauthn.RelyingParty.from_settings(j.settings)


# --- without a token ---------------------------------------------------------------------------------------------


@router.post("/auth/webauthn/options", tags=["auth"], response_model=auth.Ceremony)
def sign_in_options(body: LoginBody, j: JukiDep, term: TerminalDep) -> dict[str, Any]:
    s = j.settings
    ceremony = webauthn.sign_in_options(
        j.uow, _rp(j), body.username, body.password, body.otp, term, s.max_failed_logins, s.login_rate_limit
    )
    return ceremony.to_json()


@router.post("/auth/webauthn/login", tags=["auth"], response_model=auth.Token)
def sign_in(body: AssertionBody, j: JukiDep, term: TerminalDep) -> dict[str, Any]:
    s = j.settings
    token = webauthn.sign_in(
        j.uow, _rp(j), body.challenge_id, body.credential, term, s.token_ttl_seconds, s.max_failed_logins
    )
    return {"access_token": token.access_token, "token_type": "bearer", "expires_in": token.expires_in}


@router.post("/auth/webauthn/enrolment/options", tags=["auth"], response_model=auth.Ceremony)
def enrolment_options(body: EnrolmentOptionsBody, j: JukiDep, term: TerminalDep) -> dict[str, Any]:
    s = j.settings
    ceremony = webauthn.enrolment_options(
        j.uow, _rp(j), body.username, body.password, body.otp, body.enrolment_code, term,
        s.max_failed_logins, s.login_rate_limit,
    )  # fmt: skip
    return ceremony.to_json()


@router.post("/auth/webauthn/registration", status_code=201, tags=["auth"], response_model=auth.Credential)
def register(body: RegistrationBody, j: JukiDep, term: TerminalDep) -> dict[str, Any]:
    return webauthn.register(
        j.uow, _rp(j), body.challenge_id, body.credential, body.name, term, j.settings.max_failed_logins
    )


# --- signed in -------------------------------------------------------------------------------------------------


@router.post("/webauthn/registration/options", tags=["auth"], response_model=auth.Ceremony)
def registration_options(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return webauthn.registration_options(j.uow, actor, _rp(j)).to_json()


@router.get("/webauthn/credentials", tags=["auth"], response_model=auth.Credentials)
def list_credentials(
    j: JukiDep, actor: ActorDep, staff_id: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, Any]:
    return {"credentials": webauthn.list_credentials(j.uow, actor, staff_id)}


@router.post(
    "/webauthn/credentials/{credential_id}/deactivate",
    status_code=204,
    tags=["auth"],
    responses={204: NO_CONTENT},
)
def deactivate(credential_id: str, j: JukiDep, actor: ActorDep) -> Response:
    webauthn.deactivate(j.uow, actor, credential_id)
    return Response(status_code=204)


@router.post("/webauthn/enrolment-codes", status_code=201, tags=["staff"], response_model=auth.EnrolmentCode)
def issue_enrolment_code(body: EnrolmentCodeBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    code = webauthn.issue_enrolment_code(j.uow, actor, body.staff_id)
    return {"staff_id": code.staff_id, "enrolment_code": code.code, "expires_at": code.expires_at.isoformat()}
