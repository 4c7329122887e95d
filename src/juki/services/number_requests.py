"""番号法8条: the 生成要求 a filing makes, in its own transaction, for each person it records for the first time
without a 個人番号 (services/numbers.py has the rest of the numbers' story; docs/numbers.md)."""

from __future__ import annotations

from juki.domain import commands as c
from juki.domain.register import Outcome
from juki.domain.register.arrivals import CODE_ISSUING_REASONS
from juki.policy.roles import Actor
from juki.services.ids import dated_id
from juki.services.unit_of_work import UnitOfWork

GENERATE, CHANGE = "生成", "変更"  # 番号法8条の生成要求, 7条2項の変更請求
# Who is recorded for the first time here, or given their first code: a person without a number among them needs
# one generated.
REQUESTING_REASONS = CODE_ISSUING_REASONS | {c.RESIDENT_CODE_ENTRY}


def new_request_id(uow: UnitOfWork) -> str:
    return dated_id("N", uow.reader.today)


def request_for_new_persons(uow: UnitOfWork, outcome: Outcome, filing_id: str, actor: Actor) -> list[str]:
    """番号法8条: each person this outcome records for the first time without a 個人番号 — 出生, 国外転入, 職権記載,
    住民票コード記載 — gets a 生成要求, in the filing's transaction (so no such person is ever without a request)."""
    made = []
    for ch in outcome.changes:
        record = ch.record
        if ch.change_reason not in REQUESTING_REASONS or record.my_number or not record.is_active:
            continue
        if record.resident_code is None or uow.numbers.open_request_of(record.addressee_number):
            continue
        request_id = new_request_id(uow)
        uow.numbers.add_request(
            dict(
                request_id=request_id, kind=GENERATE, addressee_number=record.addressee_number,
                resident_code=record.resident_code, filing_id=filing_id, staff_id=actor.staff_id,
                requested_at=uow.now, reason=None,
            )
        )  # fmt: skip
        made.append(request_id)
    return made
