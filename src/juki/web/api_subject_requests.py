"""/api/v1: Data-subject requests and the disclosure package. Thin routes; the services check permissions.

Called for the procedure 開示・訂正・利用停止請求に関する事務: `X-Juki-Procedure: subject_request`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field, StrictBool, StrictInt

from juki.services import subject_requests
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import PROBLEMS
from juki.web.responses import subject_requests as answers
from juki.web.schemas import Body, Short, Text

router = APIRouter(prefix="/api/v1/subject-requests", tags=["subject requests"], responses=PROBLEMS)
RequestId = Annotated[str, Path(max_length=40)]


class RequesterIn(Body):
    type: Text = Field(max_length=40)  # self / legal_representative / agent
    name: Text = Field(max_length=200)
    relationship: Text | None = Field(default=None, max_length=200)


class IdentityCheckIn(Body):
    # The kind of document only: there is deliberately no field for its number.
    document: Text = Field(max_length=60)
    authority_document: Text | None = Field(default=None, max_length=60)
    checked_by: Text | None = Field(default=None, max_length=40)  # staff id; default: the caller


class CreateBody(Body):
    kind: Text = Field(max_length=40)  # disclosure / correction / suspension
    addressee_number: Text = Field(max_length=20)
    requester: RequesterIn
    identity_check: IdentityCheckIn
    received_on: Text = Field(max_length=40)  # ISO or 和暦
    text: Text = Field(max_length=4000)
    include_my_number: StrictBool = False  # a disclosure request that asks for the person's own My Number


class ExtendBody(Body):
    reason: Text = Field(max_length=2000)
    days: StrictInt = 30


class DecideBody(Body):
    decision: Text = Field(max_length=40)
    decided_on: Text | None = Field(default=None, max_length=40)  # ISO or 和暦; default: today
    reason: Text | None = Field(default=None, max_length=4000)
    correction_filing_id: Text | None = Short


class AnswerBody(Body):
    answered_on: Text = Field(max_length=40)  # ISO or 和暦
    correction_filing_id: Text | None = Short


@router.post("", status_code=201, response_model=answers.SubjectRequest)
def create_request(body: CreateBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return subject_requests.create(j.uow, actor, body.model_dump())


@router.get("", response_model=answers.SubjectRequests)
def list_requests(
    j: JukiDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    state: Annotated[str | None, Query(max_length=40)] = None,
    addressee_number: Annotated[str | None, Query(max_length=20)] = None,
    overdue: bool | None = None,
) -> dict[str, Any]:
    return subject_requests.list_requests(
        j.uow, actor, kind=kind, state=state, addressee_number=addressee_number, overdue=overdue
    )


@router.get("/{request_id}", response_model=answers.SubjectRequest)
def get_request(request_id: RequestId, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return subject_requests.get(j.uow, actor, request_id)


@router.post("/{request_id}/extend", response_model=answers.SubjectRequest)
def extend_request(request_id: RequestId, body: ExtendBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return subject_requests.extend(j.uow, actor, request_id, body.model_dump())


@router.post("/{request_id}/decide", response_model=answers.SubjectRequest)
def decide_request(request_id: RequestId, body: DecideBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return subject_requests.decide(j.uow, actor, request_id, body.model_dump())


@router.post("/{request_id}/answer", response_model=answers.SubjectRequest)
def answer_request(request_id: RequestId, body: AnswerBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return subject_requests.answer(j.uow, actor, request_id, body.model_dump())


@router.get(
    "/{request_id}/disclosure",
    response_model=answers.Disclosure,
    response_model_exclude_unset=True,  # `my_number` stays absent unless included
)
def disclosure_package(
    request_id: RequestId,
    j: JukiDep,
    actor: ActorDep,
    include: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    show = include is not None and "my_number" in include.split(",")
    return subject_requests.disclosure_package(j.uow, actor, request_id, show)
