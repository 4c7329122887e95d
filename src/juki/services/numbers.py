"""The numbers J-LIS gives the city, on the register's side (標準仕様書 4.3, 4.4, 7.1.2; docs/numbers.md).

- **住民票コード** (住基法30条の2〜30条の4, j870〜j890): the CS hands over the blocks J-LIS issues (`receive_codes`);
  a person recorded for the first time without a code gets one drawn at random from the stock in the filing's own
  transaction (domain/register/arrivals.py); `stock` says how many are left and whether that is low (j870's
  warning); `change_resident_code` is the person's 変更請求 (30条の4) and the 記載 of a record that has none.
- **個人番号** (番号法7条・8条, j900, j1130): every person recorded without one by 出生, 国外転入 or 職権記載 gets a
  生成要求 in the same transaction (`request_for_new_persons`); a person may ask for a new number where leakage is
  feared (`request_change`). The CS reads the open requests (`open_requests`), sends them to J-LIS and hands each
  answer back (`assign`): the number is set by the CS's system actor as a change of its own (個人番号指定 or
  個人番号変更), logged, with no approval, through the register's one door. The counter lists who waits (`waiting`).

No function here writes a number into a log line or message: answers are logged by request id and 宛名番号.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from juki.domain import commands as c
from juki.domain.errors import (
    InvalidField,
    NumberRequestNotFound,
    NumberRequestOpen,
    ResidentCodeBlockOverlaps,
    ResidentNotFound,
)
from juki.domain.identifiers import validate_addressee_number, validate_my_number, validate_resident_code
from juki.domain.intake import free_text
from juki.domain.number_notices import CodeChange, CodeNotice
from juki.domain.number_notices import code_notice as code_notice_of
from juki.policy.roles import CERTIFICATE_ISSUE, REGISTER_FILE, REGISTER_NUMBERS, REGISTER_READ, Actor
from juki.services import filings, protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.number_ports import NumberRequest
from juki.services.number_requests import CHANGE, GENERATE, new_request_id
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_BLOCK = 10000  # codes in one block: more is not a block J-LIS sends
ASSIGN_KIND = "my-number-assignment"
CODE_CHANGE_KIND = "resident-code-change"
CODE_ENTRY_KIND = "resident-code-entry"


# --- 住民票コード ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stock:
    """The unused 住民票コード left (j870): `low` below the city's threshold."""

    available: int
    threshold: int

    @property
    def low(self) -> bool:
        return self.available < self.threshold


def receive_codes(uow_factory: UnitOfWorkFactory, actor: Actor, block_id: str, codes: Sequence[str]) -> int:
    """Take a block J-LIS issued into the stock, whole or not at all: every code well-formed (check digit), none
    twice, none already in the stock or on a record (`resident_code_block_overlaps`). The number taken."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "resident_code:receive")
    block = free_text({"block_id": block_id}, "block_id", 40)
    if not codes or len(codes) > MAX_BLOCK:
        raise InvalidField(f"一度に受け取る住民票コードは1〜{MAX_BLOCK}件です", "codes")
    valid = [validate_resident_code(code, f"codes.{i}") for i, code in enumerate(codes)]
    if len(set(valid)) != len(valid):
        raise ResidentCodeBlockOverlaps("同じ住民票コードが二度含まれています")
    with uow_factory() as uow:
        if uow.numbers.in_stock(valid) or uow.numbers.held(valid):
            uow.log(
                actor, LogEntry("resident_code:receive", result="refused", detail=f"block {block} overlaps")
            )
            uow.commit()
            raise ResidentCodeBlockOverlaps()
        uow.numbers.add_stock(block, valid, uow.now)
        uow.log(
            actor,
            LogEntry(
                "resident_code:receive", detail=f"block {block}: {len(valid)}", facts={"count": len(valid)}
            ),
        )
        uow.commit()
    return len(valid)


def stock(uow_factory: UnitOfWorkFactory, actor: Actor, threshold: int) -> Stock:
    """What is left of the stock (for the CS's top-up, the counter's warning and the CS operator's page)."""
    if not actor.may(REGISTER_READ):  # the counter's warning; the CS has its own right
        authorize(uow_factory, actor, REGISTER_NUMBERS, "resident_code:stock")
    with uow_factory() as uow:
        return Stock(uow.numbers.available(), threshold)


def change_resident_code(
    uow_factory: UnitOfWorkFactory, actor: Actor, kind: str, payload: dict[str, Any]
) -> filings.FilingResult:
    """住民票コード変更 (住基法30条の4: the person asks; no reason is needed) or 住民票コード記載 (a record without
    a code): a code from the stock, through the one door. The CS notifies it as any other change."""
    reason = {CODE_CHANGE_KIND: c.RESIDENT_CODE_CHANGE, CODE_ENTRY_KIND: c.RESIDENT_CODE_ENTRY}[kind]
    number = validate_addressee_number(str(payload.get("addressee_number", "")), "addressee_number")
    stored = {"addressee_number": number}

    def command(uow: UnitOfWork) -> c.Command:
        return c.ChangeResidentCode(filed_on=uow.reader.today, addressee_number=number, change_reason=reason)

    return filings.record_change(uow_factory, actor, REGISTER_FILE, kind, command, stored)


def code_notice(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    addressee_number: str,
    city: str,
    render: Callable[[CodeNotice], bytes],
) -> bytes:
    """住民票コード通知票 or 変更通知票 (j890) of an active person, printed at the counter for the person — again
    whenever asked (a reprint). Issuing it is `certificate:issue`; a person under 支援措置 is screened; logged."""
    authorize(uow_factory, actor, CERTIFICATE_ISSUE, "resident_code:notice")
    number = validate_addressee_number(addressee_number, "addressee_number")
    with uow_factory() as uow:
        row = uow.queries.resident(number)
        if row is None or protection.screen(uow, actor, [number], "resident_code:notice"):
            raise ResidentNotFound()
        if row.status != "active":
            raise InvalidField("消除された住民の通知票は発行できません", "addressee_number")
        history = [
            CodeChange(v.change_reason, v.changed_on, v.record.get("resident_code"))
            for v in uow.queries.history(number)
        ]
        names = ("family_name", "given_name", "family_name_kana", "given_name_kana")
        person = {key: str(row.record.get(key) or "") for key in names}
        person |= {"birth_date": row.birth_date.isoformat(), "address": row.address}
        notice = code_notice_of(person, history, city, uow.reader.today)
        if notice is None:
            raise InvalidField("住民票コードが記載されていません", "addressee_number")
        uow.log(actor, LogEntry("resident_code:notice", [number], detail=notice.title))
        uow.commit()
    return render(notice)


# --- 個人番号 ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberAnswer:
    """J-LIS's answer to one request: the number it generated for the 住民票コード the request named."""

    request_id: str
    resident_code: str
    my_number: str


@dataclass(frozen=True)
class Assigned:
    """A number set on a person, for what the same transaction writes beside it (the 送付先情報)."""

    request_id: str
    kind: str
    addressee_number: str
    resident_code: str
    filing_id: str


OnAssigned = Callable[[UnitOfWork, Assigned], None]


def request_change(uow_factory: UnitOfWorkFactory, actor: Actor, addressee_number: str, reason: str) -> str:
    """番号法7条2項: a new number where the person's is feared to have leaked, on their request (or the city's).
    The request waits for J-LIS like a 生成要求; the reason is kept, never the number."""
    authorize(uow_factory, actor, REGISTER_FILE, "my_number:change_request")
    number = validate_addressee_number(addressee_number, "addressee_number")
    why = free_text({"reason": reason}, "reason", 200)
    if not why:
        raise InvalidField("変更の理由（漏えいのおそれ等）を入力してください", "reason")
    with uow_factory() as uow:
        state = uow.reader.resident(number)
        if state is None or protection.screen(uow, actor, [number], "my_number:change_request"):
            raise ResidentNotFound()
        record = state.record
        if not record.is_active or record.my_number is None or record.resident_code is None:
            raise InvalidField("個人番号が指定された住民にだけ変更を請求できます", "addressee_number")
        if uow.numbers.open_request_of(number):
            raise NumberRequestOpen()
        filing_id = uow.add_filing(
            dict(
                kind="my-number-change-request", change_reason=c.MY_NUMBER_CHANGED, changed_on=None,
                filed_on=uow.reader.today, late=False, household_number=record.household_number,
                staff_id=actor.staff_id, payload={"addressee_number": number, "reason": why},
                secret_payload=None, approval_state="none",
            )
        )  # fmt: skip
        request_id = new_request_id(uow)
        uow.numbers.add_request(
            dict(
                request_id=request_id, kind=CHANGE, addressee_number=number, resident_code=record.resident_code,
                filing_id=filing_id, staff_id=actor.staff_id, requested_at=uow.now, reason=why,
            )
        )  # fmt: skip
        uow.log(actor, LogEntry("my_number:change_request", [number], detail=request_id))
        uow.commit()
    return request_id


def open_requests(uow_factory: UnitOfWorkFactory, actor: Actor, limit: int = 100) -> list[NumberRequest]:
    """The requests J-LIS has not answered, oldest first: what the CS sends (or sends again)."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, "my_number:requests")
    with uow_factory() as uow:
        return uow.numbers.open_requests(limit)


def assign(
    uow_factory: UnitOfWorkFactory, actor: Actor, answer: NumberAnswer, on_assigned: OnAssigned | None = None
) -> str:
    """Set the number J-LIS answered on the person its request named (個人番号指定, or 個人番号変更 for a change
    request), close the request and let `on_assigned` write beside it (the 送付先情報): one transaction. An answer
    for no open request (`number_request_not_found`), for another 住民票コード, or with a number someone holds
    (`duplicate_my_number`) changes nothing. The filing's id."""
    authorize(uow_factory, actor, REGISTER_NUMBERS, f"filing:{ASSIGN_KIND}")
    request_id = free_text({"request_id": answer.request_id}, "request_id", 40)
    code = validate_resident_code(answer.resident_code, "resident_code")
    my_number = validate_my_number(answer.my_number, "my_number")
    with uow_factory() as uow:
        request = uow.numbers.open_request(request_id)
    if request is None:
        _log_refused(uow_factory, actor, request_id, NumberRequestNotFound.code)
        raise NumberRequestNotFound()
    if request.resident_code != code:
        _log_refused(uow_factory, actor, request_id, "resident_code")
        raise InvalidField("要求と異なる住民票コードへの回答です", "resident_code")
    reason = c.MY_NUMBER_ASSIGNED if request.kind == GENERATE else c.MY_NUMBER_CHANGED

    def command(uow: UnitOfWork) -> c.Command:
        return c.AssignMyNumber(
            filed_on=uow.reader.today, addressee_number=request.addressee_number, resident_code=code,
            my_number=my_number, change_reason=reason,
        )  # fmt: skip

    def close(uow: UnitOfWork, result: filings.FilingResult) -> None:
        if uow.numbers.open_request(request_id) is None:  # answered by another pass meanwhile
            raise NumberRequestNotFound()
        uow.numbers.answer(
            dict(request_id=request_id, outcome="assigned", filing_id=result.filing_id, code=None,
                 answered_at=uow.now)
        )  # fmt: skip
        if on_assigned is not None:
            on_assigned(
                uow, Assigned(request_id, request.kind, request.addressee_number, code, result.filing_id)
            )

    payload = {"request_id": request_id, "addressee_number": request.addressee_number}
    result = filings.record_change(
        uow_factory, actor, REGISTER_NUMBERS, ASSIGN_KIND, command, payload, after=close
    )
    return result.filing_id


def _log_refused(uow_factory: UnitOfWorkFactory, actor: Actor, request_id: str, code: str) -> None:
    with uow_factory() as uow:
        uow.log(actor, LogEntry(f"filing:{ASSIGN_KIND}", result="refused", detail=f"{request_id} {code}"))
        uow.commit()


def waiting(uow_factory: UnitOfWorkFactory, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """Who waits for a number from J-LIS (標準仕様書 j1130), for the counter: 宛名番号, name, the request's kind
    and when it was made. A person under 支援措置 is screened like any list (protection.screen)."""
    authorize(uow_factory, actor, REGISTER_READ, "my_number:waiting")
    with uow_factory() as uow:
        requests = uow.numbers.open_requests(limit)
        hidden = protection.screen(uow, actor, [r.addressee_number for r in requests], "my_number:waiting")
        rows = [_waiting_row(uow, r) for r in requests if r.addressee_number not in hidden]
        uow.log(actor, LogEntry("my_number:waiting", [r["addressee_number"] for r in rows]))
        uow.commit()
    return rows


def _waiting_row(uow: UnitOfWork, request: NumberRequest) -> dict[str, Any]:
    row = uow.queries.resident(request.addressee_number)
    return {
        "addressee_number": request.addressee_number,
        "name": f"{row.family_name}\u3000{row.given_name}" if row is not None else "",
        "kind": request.kind,
        "requested_at": request.requested_at.isoformat(),
        "filing_id": request.filing_id,
    }
