"""The city's 中間サーバー for staff (docs/intermediate-server.md), over the same functions as the API
(web/api_intermediate.py, then intermediate/services/staff.py):

- `/ui/intermediate` (`intermediate:read`): persons by 符号 state, the review queue's size, and a person by 宛名番号 —
  the masked 団体内統合宛名番号, the 符号's state (never the 符号), 自動応答不可 for roles that may see protection,
  and 「符号を再要求」 for those who may (`intermediate:review`). A protected person looks not found to staff without
  `protection:view`, as on the register's pages;
- `/ui/intermediate/reviews` (`intermediate:review`): the held answers, each released (提供する) or refused
  (提供しない, with a reason kept in the city);
- `/ui/intermediate/records` (`provision_log:read`): the 情報提供等記録 by period, requester and 宛名番号, and the
  chain's check (改ざん検査).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain.errors import DomainError, Forbidden
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.domain import replica
from juki.policy.roles import INTERMEDIATE_READ, INTERMEDIATE_REVIEW, PROVISION_LOG_READ
from juki.web import api_intermediate as ims
from juki.web.ui.core import Ui, UiRoute, current

router = APIRouter(route_class=UiRoute, include_in_schema=False)
UiDep = Annotated[Ui, Depends(current)]
PAGE = "/ui/intermediate"
REVIEWS = PAGE + "/reviews"
RECORDS = PAGE + "/records"
GROUPS = (("issued", "取得済"), ("pending", "取得中"), ("none", "未取得（個人番号なし）"))
DONE = {
    "released": "提供することとしました。次の送信で提供します",
    "released_sent": "提供することとし、情報提供ネットワークシステムへ送信しました",
    "refused": "提供しないこととしました。照会機関には「提供できません」とだけ伝わります（理由は送りません）",
    "link_code": "符号を再要求しました。次の処理で新しい処理通番により要求します",
    "no_auto_reply_on": "自動応答不可を設定しました",
    "no_auto_reply_off": "自動応答不可を解除しました",
}
STATUS_WORDS = {
    "received": "受付",
    "answered": "提供",
    "refused": "提供不可",
    "pending": "審査待ち",
    "no_link_code": "符号未取得",
}


def _done(ui: Ui) -> str | None:
    return DONE.get(ui.request.query_params.get("done", ""))


# --- the overview and a person ---------------------------------------------------------------------------------


def _home(ui: Ui, number: str = "", status: int = 200, **extra: Any) -> Response:
    try:
        seen = ims.overview(ui.j, ui.actor)
    except Forbidden:
        return ui.switch_to("intermediate", PAGE)
    found, error = None, None
    if number:
        try:
            found = ims.person(ui.j, ui.actor, number)
        except DomainError as exc:
            if exc.status == 403:
                raise
            error, status = exc.to_dict(), max(status, exc.status)
    return ui.render(
        "intermediate/index.html",
        status,
        seen=seen,
        groups=GROUPS,
        number=number,
        found=found,
        error=error,
        item_nulls=replica.LAYOUT.null_reasons,  # the layout's own words (intermediate/data)
        sees_protection=ims.sees_protection(ui.actor),
        may_review=ui.may(INTERMEDIATE_REVIEW),
        may_records=ui.may(PROVISION_LOG_READ),
        done=_done(ui),
        **extra,
    )


@router.get(PAGE)
def intermediate_home(ui: UiDep, addressee_number: str = "") -> Response:
    return _home(ui, addressee_number.strip()[:20])


def _person_action(ui: Ui, number: str, act: Any, done: str) -> Response:
    number = number[:20]
    try:
        act()
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _home(ui, number, exc.status, action_error=exc.to_dict())
    return ui.redirect(f"{PAGE}?addressee_number={number}&done={done}#person")


@router.post(PAGE + "/persons/{addressee_number}/link-code-request")
def link_code_again(addressee_number: str, ui: UiDep) -> Response:
    return _person_action(
        ui,
        addressee_number,
        lambda: ims.request_link_code(ui.j, ui.actor, addressee_number[:20]),
        "link_code",
    )


@router.post(PAGE + "/persons/{addressee_number}/no-auto-reply")
def no_auto_reply(addressee_number: str, ui: UiDep) -> Response:
    on = ui.form.get("on") == "1"
    reason = str(ui.form.get("reason") or "")

    def act() -> None:
        ims.set_no_auto_reply(ui.j, ui.actor, addressee_number[:20], on, reason)

    return _person_action(ui, addressee_number, act, "no_auto_reply_on" if on else "no_auto_reply_off")


# --- the review queue ------------------------------------------------------------------------------------------


def _reviews(ui: Ui, status: int = 200, **extra: Any) -> Response:
    try:
        queue = ims.review_queue(ui.j, ui.actor)
    except Forbidden:
        return ui.switch_to("intermediate", REVIEWS)
    return ui.render(
        "intermediate/reviews.html",
        status,
        queue=queue,
        done=_done(ui),
        relay_running=ims.running_relay(ui.request) is not None,
        **extra,
    )


@router.get(REVIEWS)
def reviews_page(ui: UiDep) -> Response:
    return _reviews(ui)


@router.post(REVIEWS + "/{review_id}/{action}")
def decide(review_id: str, action: str, ui: UiDep) -> Response:
    review_id = review_id[:20]
    try:
        if action == "release":
            sent = ims.release(ui.j, ui.actor, review_id, ims.running_relay(ui.request))["sent_now"]
            done = "released_sent" if sent else "released"
        elif action == "refuse":
            ims.refuse(ui.j, ui.actor, review_id, str(ui.form.get("reason") or ""))
            done = "refused"
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _reviews(ui, exc.status, failed=review_id, error=exc.to_dict())
    return ui.redirect(f"{REVIEWS}?done={done}")


# --- the 情報提供等記録 ----------------------------------------------------------------------------------------


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get(RECORDS)
def records_page(
    ui: UiDep,
    start: str = "",
    end: str = "",
    requester: str = "",
    addressee_number: str = "",
    verify: str = "",
) -> Response:
    criteria = {"start": start[:10], "end": end[:10], "requester": requester.strip()[:200],
                "addressee_number": addressee_number.strip()[:20]}  # fmt: skip
    status, error = 200, None
    try:
        entries = ims.records(
            ui.j,
            ui.actor,
            _day(criteria["start"]),
            _day(criteria["end"]),
            criteria["requester"],
            criteria["addressee_number"],
        )
    except Forbidden:
        return ui.switch_to("intermediate", RECORDS)
    except DomainError as exc:
        entries, status, error = [], exc.status, exc.to_dict()
    checked = ims.verify(ui.j, ui.actor) if verify else None
    return ui.render(
        "intermediate/records.html",
        status,
        entries=entries,
        criteria=criteria,
        bad_dates=[k for k in ("start", "end") if criteria[k] and _day(criteria[k]) is None],
        error=error,
        checked=checked,
        actions=plog.ACTION_WORDS,
        status_words=STATUS_WORDS,
        may_read=ui.may(INTERMEDIATE_READ),
    )
