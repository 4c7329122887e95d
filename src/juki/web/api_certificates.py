"""Certificates: issuance at the counter (`POST /api/v1/certificates` → the PDF), the issuance records,
disposal, and the public check of a certificate (`/verify/{issuance_number}`, no sign-in, no personal data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import InvalidField
from juki.domain.identifiers import validate_addressee_number
from juki.services import certificates
from juki.services.certificates import CertificateOffice
from juki.web import schemas
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import PDF, PROBLEMS
from juki.web.responses import certificates as answers
from juki.web.schemas import Body, CertificateBody, Text

api = APIRouter(prefix="/api/v1/certificates", tags=["certificates"], responses=PROBLEMS)
public = APIRouter(tags=["certificates"], responses=PROBLEMS)  # /verify: outside /api/v1, no sign-in
Number = Annotated[str, Path(max_length=20)]
MAX_PDF_BYTES = 10 * 1024 * 1024


def office(request: Request) -> CertificateOffice:
    """The register's certificate office (composition root); its QR codes point at `JUKI_PUBLIC_BASE_URL`."""
    built: CertificateOffice = request.app.state.juki.certificate_office
    return built


OfficeDep = Annotated[CertificateOffice, Depends(office)]


class DisposalBody(Body):
    reason: Text = Field(max_length=500)


def settings_document(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings document through its own request model, as FastAPI puts a body through one: typed, or its
    errors (422 `invalid_field`) naming their path in the document (`kiosk.fee`), as API.md has them."""
    try:
        typed = schemas.CertificateSettingsIn.model_validate(settings)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return typed.model_dump(exclude_none=True)


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
def change_settings(
    body: schemas.CertificateSettingsChangeBody, j: JukiDep, actor: ActorDep, office: OfficeDep
) -> dict[str, Any]:
    change = {**body.model_dump(exclude_none=True), "settings": settings_document(body.settings)}
    return certificates.change_settings(j.uow, actor, office, change)


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
