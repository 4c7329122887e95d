"""/api/v1: the numbers J-LIS gives the city, at the counter (docs/numbers.md). Thin routes; the services
(services/numbers.py) check permissions, screen 支援措置 and log.

| route | who | what |
|---|---|---|
| `POST /api/v1/filings/resident-code-change` | clerk, supervisor | 住民票コード変更請求 (住基法30条の4): a new code from the stock |
| `POST /api/v1/filings/resident-code-entry` | clerk, supervisor | 住民票コード記載: a code for a record that has none |
| `GET /api/v1/residents/{n}/resident-code-notice` | clerk, supervisor | the 住民票コード通知票 / 変更通知票, PDF (j890) |
| `POST /api/v1/residents/{n}/my-number-change-requests` | clerk, supervisor | 個人番号の変更請求 (番号法7条2項) |
| `GET /api/v1/my-number-requests` | clerk, supervisor | who waits for a 個人番号 from J-LIS (j1130) |
| `GET /api/v1/resident-code-stock` | clerk, supervisor | the unused 住民票コード left, and whether that is low (j870) |
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import Field

from juki.domain.identifiers import validate_addressee_number
from juki.services import numbers
from juki.web.api import ActorDep, JukiDep, filing_answer
from juki.web.responses import PDF, PROBLEMS, Out
from juki.web.responses import register as answers
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
AddresseeNumber = Annotated[str, Path(max_length=20)]


class PersonBody(Body):
    addressee_number: Text = Field(max_length=20)


class ChangeRequestBody(Body):
    reason: Text = Field(max_length=200)  # 漏えいのおそれ等: why a new number is needed


class ChangeRequested(Out):
    request_id: str


class Waiting(Out):
    addressee_number: str
    name: str
    kind: str  # 生成 or 変更
    requested_at: str
    filing_id: str


class WaitingList(Out):
    persons: list[Waiting]


class Stock(Out):
    available: int
    threshold: int
    low: bool


def _filed(j: JukiDep, actor: ActorDep, kind: str, body: PersonBody, response: Response) -> dict[str, Any]:
    return filing_answer(numbers.change_resident_code(j.uow, actor, kind, body.model_dump()), response)


@router.post(
    "/filings/resident-code-change",
    status_code=201,
    tags=["filings"],
    response_model=answers.FilingAccepted,
)
def change_resident_code(body: PersonBody, j: JukiDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    """住民票コード変更 (住基法30条の4): the person asks; a code drawn from the stock replaces theirs."""
    return _filed(j, actor, numbers.CODE_CHANGE_KIND, body, response)


@router.post(
    "/filings/resident-code-entry",
    status_code=201,
    tags=["filings"],
    response_model=answers.FilingAccepted,
)
def enter_resident_code(body: PersonBody, j: JukiDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    """住民票コード記載: a record without a code gets one from the stock (j60: none stays without)."""
    return _filed(j, actor, numbers.CODE_ENTRY_KIND, body, response)


@router.get(
    "/residents/{addressee_number}/resident-code-notice",
    tags=["register"],
    response_class=Response,
    responses={200: {**PDF, "description": "the 住民票コード通知票 or 変更通知票"}},
)
def resident_code_notice(addressee_number: AddresseeNumber, j: JukiDep, actor: ActorDep) -> Response:
    """住民票コード通知票 (j890), printed again whenever asked."""
    number = validate_addressee_number(addressee_number)
    city = j.settings.mailing_city_name
    pdf = numbers.code_notice(j.uow, actor, number, city, j.render_code_notice)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="resident-code-notice.pdf"'},
    )


@router.post(
    "/residents/{addressee_number}/my-number-change-requests",
    status_code=201,
    tags=["register"],
    response_model=ChangeRequested,
)
def request_my_number_change(
    addressee_number: AddresseeNumber, body: ChangeRequestBody, j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    """個人番号の変更請求 (番号法7条2項): J-LIS is asked for a new number through the CS."""
    number = validate_addressee_number(addressee_number)
    return {"request_id": numbers.request_change(j.uow, actor, number, body.reason)}


@router.get("/my-number-requests", tags=["register"], response_model=WaitingList)
def waiting_for_numbers(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """Who waits for a 個人番号 from J-LIS (a 生成要求 or 変更請求 not answered yet)."""
    return {"persons": numbers.waiting(j.uow, actor)}


@router.get("/resident-code-stock", tags=["register"], response_model=Stock)
def resident_code_stock(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """The unused 住民票コード left (標準仕様書 j870); `low` below the city's threshold."""
    stock = numbers.stock(j.uow, actor, j.settings.resident_code_stock_threshold)
    return {"available": stock.available, "threshold": stock.threshold, "low": stock.low}
