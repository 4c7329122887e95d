"""/api/v1/intermediate: the staff's side of the city's 中間サーバー (docs/intermediate-server.md) — the 符号's states,
a person's state by 宛名番号, the review queue of held answers and its decisions, 自動応答不可 by hand, a 符号 asked
again, and the 情報提供等記録 with its chain's check.

Thin routes over intermediate/services/staff.py, which checks the permission again and writes the 中間サーバー's own
log. What the web layer adds, and the pages (ui/intermediate_pages.py) share from here:

- every refusal is in the register's operation log too, as for every /api/v1 call (`authorize` first);
- a person under a 支援措置 looks not found to staff without `protection:view` (`protection.screen`, the register's
  one screening, j440), and 自動応答不可 — which tells of a 支援措置 — is shown only to roles that may see protection;
- the review queue is the supervisor's (`intermediate:review`): the held answers are those of protected persons,
  shown by 宛名番号 to the one who decides;
- a released answer goes at the relay's next pass, or at once when the app holds a running relay
  (`app.state.intermediate_relay`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field, StrictBool

from juki.bootstrap import Juki
from juki.domain.dates import JST
from juki.domain.errors import NotFound
from juki.domain.identifiers import validate_addressee_number
from juki.intermediate.services import staff
from juki.policy.roles import (
    INTERMEDIATE_READ,
    INTERMEDIATE_REVIEW,
    PROTECTION_VIEW,
    PROVISION_LOG_READ,
    Actor,
    allows,
)
from juki.services import protection
from juki.services.authorization import authorize
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import PROBLEMS, Out
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1/intermediate", responses=PROBLEMS, tags=["intermediate"])
log = logging.getLogger("juki.web.intermediate")
AddresseeNumber = Annotated[str, Path(max_length=20)]
ReviewId = Annotated[str, Path(max_length=20)]
NOT_FOUND = (
    "中間サーバーにこの宛名番号の記録がありません"  # staff.person_state's: a hidden person reads the same
)
LINK_CODE_GROUPS = (("issued", ("issued",)), ("pending", ("waiting", "requested")), ("none", ("none",)))


# --- what the pages share -------------------------------------------------------------------------------------


def allowed(j: Juki, actor: Actor, permission: str, action: str) -> None:
    """Refused (403) and logged in the register's operation log when the actor lacks `permission`."""
    authorize(j.uow, actor, permission, f"intermediate:{action}")


def sees_protection(actor: Actor) -> bool:
    """The roles that may see 支援措置 (the menu's own test): only they are told of 自動応答不可."""
    return allows(actor.role, PROTECTION_VIEW, "protection")


def overview(j: Juki, actor: Actor) -> dict[str, Any]:
    allowed(j, actor, INTERMEDIATE_READ, "overview")
    seen = staff.overview(j.intermediate.transaction, actor)
    counts = seen["link_codes"]
    seen["link_code_groups"] = {g: sum(counts.get(s, 0) for s in states) for g, states in LINK_CODE_GROUPS}
    return seen


def person(j: Juki, actor: Actor, addressee_number: str) -> dict[str, Any]:
    """A person's 符号 state; a protected person is not found to whoever may not see them (alerted, j440)."""
    allowed(j, actor, INTERMEDIATE_READ, "person")
    number = _visible(j, actor, addressee_number, "intermediate:person")
    state = staff.person_state(j.intermediate.transaction, actor, number)
    if not sees_protection(actor):
        for key in ("no_auto_reply", "no_auto_reply_by_hand"):
            state.pop(key, None)
    return state


def _visible(j: Juki, actor: Actor, addressee_number: str, action: str) -> str:
    """The person, unless they are hidden from this actor — or their 世帯主 is: the 副本 names the 世帯主 (住基法7条4号),
    so a member whose 世帯主 the actor may not see looks not found too, as the 送付先情報 addressed to one does."""
    number = validate_addressee_number(addressee_number)
    with j.uow() as uow:
        hidden = protection.screen(uow, actor, protection.with_householder(uow, number), action)
        uow.commit()  # the alerts stay, whatever is shown
    if hidden:
        raise NotFound(NOT_FOUND, "addressee_number")
    return number


def review_queue(j: Juki, actor: Actor) -> list[dict[str, Any]]:
    """The queue is the reviewer's (the staff function reads it with `intermediate:read`: both are needed)."""
    allowed(j, actor, INTERMEDIATE_READ, "review_queue")
    allowed(j, actor, INTERMEDIATE_REVIEW, "review_queue")
    return staff.review_queue(j.intermediate.transaction, actor)


def _review(j: Juki, actor: Actor, review_id: str, action: str) -> int:
    allowed(j, actor, INTERMEDIATE_REVIEW, action)
    plain = review_id.strip()
    number = int(plain) if plain.isascii() and plain.isdigit() and len(plain) <= 12 else None
    with j.intermediate.transaction() as store:
        found = number is not None and store.query(number) is not None
    if not found or number is None:
        raise NotFound("この照会はありません", "id")
    return number


def release(j: Juki, actor: Actor, review_id: str, relay: object | None) -> dict[str, Any]:
    """Let a held answer go; sent at once when a running relay is at hand, else at the relay's next pass."""
    row = staff.release(j.intermediate.transaction, actor, _review(j, actor, review_id, "release"))
    return {**row, "sent_now": send_now(relay)}


def refuse(j: Juki, actor: Actor, review_id: str, reason: str) -> dict[str, Any]:
    return staff.refuse(j.intermediate.transaction, actor, _review(j, actor, review_id, "refuse"), reason)


def set_no_auto_reply(j: Juki, actor: Actor, addressee_number: str, on: bool, reason: str) -> dict[str, Any]:
    allowed(j, actor, INTERMEDIATE_REVIEW, "no_auto_reply")
    number = _visible(j, actor, addressee_number, "intermediate:no_auto_reply")
    return staff.set_no_auto_reply(j.intermediate.transaction, actor, number, on, reason)


def request_link_code(j: Juki, actor: Actor, addressee_number: str) -> dict[str, Any]:
    allowed(j, actor, INTERMEDIATE_REVIEW, "link_code_again")
    number = _visible(j, actor, addressee_number, "intermediate:link_code_again")
    with j.intermediate.transaction() as store:
        known = store.person(number) is not None
    if not known:
        raise NotFound(NOT_FOUND, "addressee_number")
    return staff.request_link_code_again(j.intermediate.transaction, actor, number)


def records(
    j: Juki,
    actor: Actor,
    start: date | None,
    end: date | None,
    requester: str | None,
    addressee_number: str | None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """The 情報提供等記録 of the Japan days `start` … `end` (both included)."""
    allowed(j, actor, PROVISION_LOG_READ, "provision_log")
    number = validate_addressee_number(addressee_number) if addressee_number else None
    search = staff.LogSearch(_day_start(start), _day_start(end, 1), requester or None, number, limit)
    return staff.search_provision_log(j.intermediate.transaction, actor, search)


def _day_start(day: date | None, after: int = 0) -> datetime | None:
    """Midnight in Japan of `day` (+ `after` days); none at the calendar's ends (no bound there)."""
    if day is None or not date(1900, 1, 1) <= day <= date(9999, 12, 1):
        return None
    return datetime.combine(day + timedelta(days=after), time(), JST)


def verify(j: Juki, actor: Actor) -> dict[str, Any]:
    allowed(j, actor, PROVISION_LOG_READ, "provision_log_verify")
    return staff.verify_chain(j.intermediate.transaction, actor)


def running_relay(request: Request) -> object | None:
    """The app's running relay, if the server that serves it runs one (`app.state.intermediate_relay`)."""
    return getattr(request.app.state, "intermediate_relay", None)


def send_now(relay: object | None) -> bool:
    """Hand the answers due to the network now; False when there is no relay or the network did not take them
    (they stay due: the next pass sends them)."""
    send: Callable[[], int] | None = getattr(relay, "send_answers", None)
    if send is None:
        return False
    try:
        return send() > 0
    except Exception as exc:  # the answer stays due; the relay's next pass tries again
        log.warning("中間サーバー: 回答をすぐに送信できませんでした（次回送信）: %s", type(exc).__name__)
        return False


# --- answers ---------------------------------------------------------------------------------------------------


class LinkCodeCounts(Out):
    none: int  # no 個人番号 yet
    waiting: int
    requested: int
    issued: int


class LinkCodeGroups(Out):
    issued: int  # 取得済
    pending: int  # 取得中 (waiting and requested)
    none: int  # 未取得（個人番号なし）


class WaitingOverADay(Out):
    link_codes: int  # persons whose 符号 has not come for more than a day
    answers: int  # answers the network has not taken
    review_queue: int  # held answers nobody has decided


class Overview(Out):
    waiting_over_a_day: WaitingOverADay
    link_codes: LinkCodeCounts
    link_code_groups: LinkCodeGroups
    review_queue: int
    answers_waiting: int
    persons: int


class ReplicaItem(Out):
    value: str | None
    version: int
    null_reason: str | None


class Replica(Out):
    version: int
    operation: str
    registered_at: str
    items: dict[str, ReplicaItem]


class PersonState(Out):
    """`no_auto_reply` and `no_auto_reply_by_hand` only for roles that may see protection."""

    addressee_number: str
    removed: bool
    unified_number: str | None  # masked: the 団体コード and the last four digits
    link_code_state: str  # none / waiting / requested / issued (never the 符号)
    link_code_state_word: str
    no_auto_reply: bool | None = None
    no_auto_reply_by_hand: bool | None = None
    replica: Replica | None


class Review(Out):
    id: int
    query_id: str
    received_at: str
    requester: str
    legal_basis: str
    procedure: str
    information: str
    items: list[str]
    addressee_numbers: list[str]
    state: str


class Released(Review):
    sent_now: bool  # false: it goes at the relay's next pass


class Reviews(Out):
    reviews: list[Review]


class NoAutoReply(Out):
    addressee_number: str
    no_auto_reply: bool


class LinkCodeRequested(Out):
    addressee_number: str
    link_code_state: str


class ProvisionRecord(Out):
    seq: int
    at: str
    action: str
    action_word: str
    query_id: str
    requester: str
    legal_basis: str
    procedure: str
    information: str
    unified_number: str | None
    items: list[str]
    status: str
    message: str
    staff_id: str | None
    retain_until: str


class Records(Out):
    records: list[ProvisionRecord]


class ChainVerification(Out):
    ok: bool
    entries: int
    first_broken: int | None


# --- requests --------------------------------------------------------------------------------------------------


class RefuseBody(Body):
    reason: Text = Field(max_length=staff.MAX_REASON)  # kept in the city, never sent to the requester


class NoAutoReplyBody(Body):
    on: StrictBool  # "yes" or 1 is not an answer
    reason: Text = Field(max_length=staff.MAX_REASON)


# --- routes ----------------------------------------------------------------------------------------------------


@router.get("/overview", response_model=Overview)
def get_overview(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """Persons by 符号 state, the review queue's size and the answers waiting to be sent."""
    return overview(j, actor)


@router.get("/persons/{addressee_number}", response_model=PersonState, response_model_exclude_unset=True)
def get_person(addressee_number: AddresseeNumber, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """A person by the register's 宛名番号: the 符号's state (never the 符号), the masked 団体内統合宛名番号."""
    return person(j, actor, addressee_number)


@router.get("/reviews", response_model=Reviews)
def get_reviews(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """The held answers (自動応答不可) waiting for a supervisor."""
    return {"reviews": review_queue(j, actor)}


@router.post("/reviews/{review_id}/release", response_model=Released)
def release_review(review_id: ReviewId, request: Request, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """提供する: the answer goes with the 副本 as it is now (`sent_now` false: at the relay's next pass)."""
    return release(j, actor, review_id, running_relay(request))


@router.post("/reviews/{review_id}/refuse", response_model=Review)
def refuse_review(review_id: ReviewId, body: RefuseBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """提供しない: the requester reads 提供できません; the reason stays in the city."""
    return refuse(j, actor, review_id, body.reason)


@router.post("/persons/{addressee_number}/no-auto-reply", response_model=NoAutoReply)
def change_no_auto_reply(
    addressee_number: AddresseeNumber, body: NoAutoReplyBody, j: JukiDep, actor: ActorDep
) -> dict[str, Any]:
    """自動応答不可 set or cleared by hand, with the reason (a 支援措置 in force holds answers whatever this says)."""
    return set_no_auto_reply(j, actor, addressee_number, body.on, body.reason)


@router.post("/persons/{addressee_number}/link-code-request", response_model=LinkCodeRequested)
def request_link_code_again(addressee_number: AddresseeNumber, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """符号を再要求: the serial in flight is abandoned; the relay's next pass asks with a new one."""
    return request_link_code(j, actor, addressee_number)


@router.get("/records", response_model=Records)
def get_records(
    j: JukiDep,
    actor: ActorDep,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    requester: Annotated[str | None, Query(max_length=200)] = None,
    addressee_number: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The 情報提供等記録 (kept seven years), oldest first: `from` … `to` are days in Japan, both included."""
    return {"records": records(j, actor, start, end, requester, addressee_number, limit)}


@router.get("/records/verify", response_model=ChainVerification)
def verify_records(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """改ざん検査: the hash chain checked from the first entry; `first_broken` names the first bad one."""
    return verify(j, actor)
