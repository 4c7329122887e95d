"""The 団体内統合宛名 function's door for the city's business systems (docs/intermediate-server.md, 団体内統合宛名):
a department system registers a person with its own 宛名番号, the 個人番号 and the 4情報, and the function finds
the person by the 個人番号 or gives a new 団体内統合宛名番号.

The answer never holds the unified number (business systems never hold it: the function translates inside) nor
the 個人番号. Only a system whose legal basis includes the 個人番号 (番号法9条, the city's ordinance: its token
carries the 個人番号 scope of the 庁内連携) may register; anyone else is refused and logged. The body carries the
number, never the URL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import InvalidMyNumber
from juki.intermediate.services import addressees
from juki.policy.roles import TRANSFER_FEED
from juki.services import transfer_feed as feed
from juki.services.authorization import authorize
from juki.services.transfer_clients import Grant, StaffTokenOnFeed
from juki.transfer.policy import SCOPE_MY_NUMBER
from juki.web.api import juki
from juki.web.api_transfer import department_grant
from juki.web.responses import PROBLEMS

router = APIRouter(prefix="/api/v1/unified-addressees", tags=["intermediate"], responses=PROBLEMS)
ACTION = "unified_addressee:register"


class Registration(BaseModel):
    """A business system's person: its own 宛名番号, the 個人番号 and the 4情報 (氏名・住所・生年月日・性別)."""

    model_config = ConfigDict(extra="forbid")

    addressee_number: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")
    my_number: str = Field(min_length=1, max_length=20, repr=False)
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(min_length=1, max_length=200)
    birth_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    sex: str = Field(pattern=r"^(male|female)$")


class Registered(BaseModel):
    registered: bool


def _register(request: Request, grant: Grant, body: Registration) -> Registered:
    j = juki(request)
    if SCOPE_MY_NUMBER not in grant.scopes:
        feed.log_refusal(j.uow, grant.system_id, ACTION, "insufficient_scope", "pull", grant.client_id)
        raise StaffTokenOnFeed(
            "このトークンでは団体内統合宛名に登録できません（個人番号を扱う根拠がありません）"
        )
    authorize(j.uow, grant.actor(), TRANSFER_FEED, ACTION)
    four_info = body.model_dump(include={"name", "address", "birth_date", "sex"})
    try:
        with j.intermediate.transaction() as store:
            addressees.register(store, j.settings.city_code, grant.system_id, body.addressee_number,
                                body.my_number, four_info)  # fmt: skip
    except addressees.InvalidRegistration as exc:
        feed.log_refusal(j.uow, grant.system_id, ACTION, "invalid_my_number", "pull", grant.client_id)
        raise InvalidMyNumber(str(exc), "my_number") from None
    return Registered(registered=True)


@router.post("", response_model=Registered)
async def register(
    request: Request,
    grant: Annotated[Grant, Depends(department_grant)],
    body: Annotated[Registration, Body()],
) -> Registered:
    """Register (or link again) a business system's person with the 団体内統合宛名; the unified number is not
    returned."""
    return await run_in_threadpool(_register, request, grant, body)
