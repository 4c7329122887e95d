"""/api/v1: the 送付先情報 for the 個人番号通知書 at the counter (docs/mailing.md) — the records by state, their print
category and special circumstance, the release of a held one, a refused one built again — and the 居所 for delivery
of a person under 支援措置. Thin routes; services/mailing.py checks permissions, screens and logs."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from juki.services import mailing
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import PROBLEMS, Out
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1", responses=PROBLEMS, tags=["mailing"])


# --- answers ---------------------------------------------------------------------------------------------------


class MailingDestination(Out):
    """送付先: whom and where, as the record's items say (送付先氏名 漢字, 送付先郵便番号, 送付先住所 漢字)."""

    name: str | None
    postal_code: str | None
    address: str | None


class MailingRefusal(Out):
    """J-LIS's code and the item its 突合 found different (never a value)."""

    code: str
    item: str | None


class MailingRecord(Out):
    record_id: str
    addressee_number: str
    name: str
    resident_code: str
    request_id: str | None
    state: str  # held / ready / released / delivered / refused / replaced
    hold_reason: str | None  # while held: not_resident, protected_no_residence, no_addressee_name …
    refusal: MailingRefusal | None
    print_category: str
    special_circumstance: str
    goes: bool  # the CS may take it now (ready or released, both flags set)
    addressed_to: str | None  # householder / residence
    destination: MailingDestination
    built_at: str
    state_at: str


class MailingRecords(Out):
    state: str
    records: list[MailingRecord]


class ResidencePlace(Out):
    postal_code: str
    address: str


class DeliveryResidence(Out):
    addressee_number: str
    residence: ResidencePlace | None  # null: none registered (or the registration ended)
    registered_at: str | None
    rebuilt: list[str]  # the records built again to it (the person's records not delivered yet)


# --- requests --------------------------------------------------------------------------------------------------


class FlagsBody(Body):
    print_category: Text | None = Field(default=None, max_length=mailing.FLAG_LENGTH)
    special_circumstance: Text | None = Field(default=None, max_length=mailing.FLAG_LENGTH)


class ResidenceBody(Body):
    postal_code: Text = Field(max_length=20)
    address: Text = Field(max_length=200)


# --- routes ----------------------------------------------------------------------------------------------------


@router.get("/mailing-records", response_model=MailingRecords)
def list_mailing_records(
    j: JukiDep,
    actor: ActorDep,
    state: Annotated[str, Query(max_length=20)] = "held",
    limit: Annotated[int, Query(ge=1, le=mailing.MAX_LIMIT)] = 200,
) -> dict[str, Any]:
    """held, refused, ready (released ones too) or delivered; a record naming a protected person is left out."""
    return mailing.list_records(j.uow, actor, state, limit)


@router.patch("/mailing-records/{record_id}", response_model=MailingRecord)
def set_mailing_flags(record_id: str, body: FlagsBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return mailing.set_flags(j.uow, actor, record_id[:40], body.model_dump(exclude_none=True))


@router.post("/mailing-records/{record_id}/release", response_model=MailingRecord)
def release_mailing_record(record_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """The record as it goes now (a new one when the register changed since it was built)."""
    return mailing.release(j.uow, actor, record_id[:40], j.settings)


@router.post("/mailing-records/{record_id}/rebuild", status_code=201, response_model=MailingRecord)
def rebuild_mailing_record(record_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return mailing.rebuild(j.uow, actor, record_id[:40], j.settings)


@router.get("/residents/{addressee_number}/delivery-residence", response_model=DeliveryResidence)
def get_delivery_residence(addressee_number: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return mailing.get_residence(j.uow, actor, addressee_number[:20])


@router.put("/residents/{addressee_number}/delivery-residence", response_model=DeliveryResidence)
def register_delivery_residence(
    addressee_number: str, body: ResidenceBody, j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    return mailing.register_residence(j.uow, actor, addressee_number[:20], body.model_dump(), j.settings)


@router.delete("/residents/{addressee_number}/delivery-residence", response_model=DeliveryResidence)
def end_delivery_residence(addressee_number: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return mailing.end_residence(j.uow, actor, addressee_number[:20], j.settings)
