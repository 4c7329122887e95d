"""Certificates: issuance at the counter (`POST /api/v1/certificates` → the PDF), the issuance records,
disposal, and the public check of a certificate (`/verify/{issuance_number}`, no sign-in, no personal data)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import InvalidField
from juki.domain.identifiers import validate_addressee_number
from juki.services import certificates
from juki.services.certificates import CertificateOffice
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import PDF, PROBLEMS
from juki.web.responses import certificates as answers
from juki.web.schemas import Body, Text

api = APIRouter(prefix="/api/v1/certificates", tags=["certificates"], responses=PROBLEMS)
public = APIRouter(tags=["certificates"], responses=PROBLEMS)  # /verify: outside /api/v1, no sign-in
Number = Annotated[str, Path(max_length=20)]
MAX_PDF_BYTES = 10 * 1024 * 1024


def office(request: Request) -> CertificateOffice:
    """The register's certificate office (composition root); its QR codes point at `JUKI_PUBLIC_BASE_URL`."""
    built: CertificateOffice = request.app.state.juki.certificate_office
    return built


OfficeDep = Annotated[CertificateOffice, Depends(office)]


class IncludeIn(Body):
    """Each item true or false; one left out takes the city's default for the kind (j1000)."""

    householder_and_relationship: StrictBool | None = None
    honseki: StrictBool | None = None
    resident_code: StrictBool | None = None
    my_number: StrictBool | None = None
    history: StrictBool | None = None


class RequesterIn(Body):
    type: Text = Field(max_length=40)  # self / household_member / agent / third_party / official
    name: Text = Field(max_length=200)
    addressee_number: Text | None = Field(default=None, max_length=20)  # the person, or an agent's principal
    reason: Text | None = Field(default=None, max_length=500)  # 第12条の3 / 第12条の2


class IdentityCheckIn(Body):
    document: Text | None = Field(default=None, max_length=60)  # the kind of document shown, never its number
    authority_document: Text | None = Field(default=None, max_length=60)  # 委任状 (agents)


class CertificateBody(Body):
    kind: Text = Field(max_length=40)
    household_number: Text | None = Field(default=None, max_length=20)
    addressee_numbers: list[Text] | None = Field(default=None, max_length=50)
    include: IncludeIn = Field(default_factory=IncludeIn)
    requester: RequesterIn
    purpose: Text = Field(max_length=200)
    # Extensions (docs/api-extensions.md)
    # foreign-resident items one by one, 通称履歴, 方書; absent: the city's default omissions for the kind
    omit: list[Text] | None = Field(default=None, max_length=20)
    layout: Text = Field(default="household", max_length=20)  # household (世帯連記式) / individual (個人票)
    items: list[Text] | None = Field(default=None, max_length=20)  # 記載事項証明書: the items certified
    copies: StrictInt = 1
    identity_check: IdentityCheckIn | None = None


class DisposalBody(Body):
    reason: Text = Field(max_length=500)


class SettingsBody(Body):
    settings: dict[
        str, Any
    ]  # the whole document, as GET answers it (domain/certificate_settings.py checks it)
    reason: Text = Field(max_length=500)
    version: StrictInt | None = None  # the version this one replaces (409 conflict if another came first)


@api.post(
    "",
    status_code=201,
    response_class=Response,
    responses={201: {**PDF, "description": "the certificate"}},
)
def issue_certificate(body: CertificateBody, j: JukiDep, actor: ActorDep, office: OfficeDep) -> Response:
    issued = certificates.issue(j.uow, actor, body.model_dump(exclude_none=True), office)
    return Response(
        issued.pdf,
        status_code=201,
        media_type="application/pdf",
        headers={
            "X-Issuance-Number": issued.issuance_number,
            "X-Issuance-Numbers": ",".join(issued.issuance_numbers),
            "X-Issuance-Fee": str(issued.fee),
            "X-Content-SHA256": issued.sha256,
            "X-Issuance-Pages": str(issued.pages),
            "X-Issuance-Warnings": str(len(issued.warnings)),
            "X-Overflow-Lines": str(issued.overflows),
            "Content-Disposition": f'inline; filename="{issued.issuance_number}.pdf"',
        },
    )


@api.get("", response_model=answers.Issuances)
def list_issuances(
    j: JukiDep,
    actor: ActorDep,
    office: OfficeDep,
    addressee_number: Annotated[str, Query(max_length=20)],
) -> dict[str, Any]:
    return certificates.issuances_of(j.uow, actor, office, validate_addressee_number(addressee_number))


@api.get("/settings", response_model=answers.Settings)
def settings(j: JukiDep, actor: ActorDep, office: OfficeDep) -> dict[str, Any]:
    return certificates.settings_of(j.uow, actor, office)


@api.put("/settings", response_model=answers.Settings)
def change_settings(body: SettingsBody, j: JukiDep, actor: ActorDep, office: OfficeDep) -> dict[str, Any]:
    return certificates.change_settings(j.uow, actor, office, body.model_dump(exclude_none=True))


@api.get(
    "/overflow-list",
    response_model=answers.OverflowList,
    responses={200: {**PDF, "description": "the list; with `format=pdf`, printed"}},
)
def overflow_list(
    j: JukiDep,
    actor: ActorDep,
    office: OfficeDep,
    on: Annotated[date, Query(alias="date")],
    format: Annotated[str, Query(pattern="^(json|pdf)$")] = "json",
) -> dict[str, Any] | Response:
    """文字超過リスト (j1070): the day's fields that did not fit or had 外字; `format=pdf` prints it."""
    if format == "pdf":
        pdf = certificates.overflow_list_pdf(j.uow, actor, office, on)
        return Response(pdf, media_type="application/pdf")
    return certificates.overflow_list(j.uow, actor, office, on)


@api.post("/{issuance_number}/disposal", status_code=201, response_model=answers.Issuance)
def dispose(
    issuance_number: Number, body: DisposalBody, j: JukiDep, actor: ActorDep, office: OfficeDep
) -> dict[str, Any]:
    return certificates.dispose(j.uow, actor, office, issuance_number, body.model_dump())


@public.get(
    "/verify/{issuance_number}",
    response_model=answers.Verification,
    response_model_exclude_unset=True,  # `matches` only when a digest was sent
)
def verify(
    issuance_number: Number,
    j: JukiDep,
    office: OfficeDep,
    sha256: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Whether this city issued the certificate, when, which kind, and the SHA-256 of its PDF; with `?sha256=`,
    whether a digest matches. No sign-in; no personal data."""
    return certificates.verify(j.uow, office, issuance_number, sha256)


@public.post(
    "/verify/{issuance_number}",
    response_model=answers.PdfVerification,
)
async def verify_pdf(
    issuance_number: Number, request: Request, j: JukiDep, office: OfficeDep
) -> dict[str, Any]:
    """Send the PDF itself (`Content-Type: application/pdf`): answers as GET, with `matches`."""
    pdf = bytearray()
    async for chunk in request.stream():
        pdf += chunk
        if len(pdf) > MAX_PDF_BYTES:
            raise InvalidField("PDF が大きすぎます", "body")
    answer: dict[str, Any] = await run_in_threadpool(
        certificates.verify_pdf, j.uow, office, issuance_number, bytes(pdf)
    )
    return answer


router = APIRouter()  # what the app includes: both of the above
router.include_router(api)
router.include_router(public)
