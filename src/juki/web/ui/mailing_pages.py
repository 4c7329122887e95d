"""送付先情報 (個人番号通知書の送付先) at the counter: the held and refused records with why, and what can be done — set
the print category and special circumstance, release a held record once what held it is fixed, build a refused one
again; a supervisor acting for 支援措置 registers or ends a person's 居所 for delivery (services/mailing.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain import mailing as m
from juki.domain.errors import DomainError, Forbidden
from juki.policy.roles import PROTECTION_SET, REGISTER_FILE
from juki.services import mailing
from juki.web.ui.core import Ui, UiRoute, current

router = APIRouter(route_class=UiRoute, include_in_schema=False)
UiDep = Annotated[Ui, Depends(current)]
PAGE = "/ui/mailing"
STATES = {
    m.HELD: "保留中",
    m.REFUSED: "機構から返戻（突合の不一致）",
    m.READY: "送付待ち",
    m.RELEASED: "送付待ち（保留を解除）",
    m.DELIVERED: "機構へ送付済み",
    m.REPLACED: "差替え済み",
}
TABS = ((m.READY, "送付待ち"), (m.DELIVERED, "送付済み"))
DONE = {
    "flags": "印字区分・特殊事情を設定しました",
    "release": "保留を解除しました",
    "rebuild": "送付先情報を作成し直しました",
    "residence": "送付先の居所を登録しました",
    "residence-end": "送付先の居所の登録を終了しました",
}


def _page(ui: Ui, state: str = "", status: int = 200, **extra: Any) -> Response:
    """Held and refused records (the counter's work), or one other state's list."""
    shown = [state] if state in m.LISTED else [m.HELD, m.REFUSED]
    try:
        lists = {s: mailing.list_records(ui.uow, ui.actor, s)["records"] for s in shown}
    except Forbidden:
        return ui.switch_to("resident_record", PAGE)
    return ui.render(
        "mailing.html",
        status=status,
        lists=lists,
        state=state if state in m.LISTED else "",
        states=STATES,
        tabs=TABS,
        reasons=m.HOLD_REASONS,
        releasable=m.RELEASABLE,
        done_text=DONE,
        may_act=ui.may(REGISTER_FILE),
        may_residence=ui.may(PROTECTION_SET),
        **extra,
    )


@router.get(PAGE)
def mailing_page(ui: UiDep, state: str = "") -> Response:
    return _page(ui, state[:20])


def _form(ui: Ui) -> dict[str, str]:
    return {k: v.strip() for k, v in ui.form.items() if isinstance(v, str) and v.strip()}


def _refused(ui: Ui, key: str, exc: DomainError) -> Response:
    """The list again, with the refusal beside the record (or person) it concerns."""
    if exc.status == 403:
        raise exc
    back = str(ui.form.get("state", ""))[:20]
    return _page(ui, back, status=exc.status, errors={key: exc.to_dict()}, failed=key)


def _back(ui: Ui, done: str) -> Response:
    back = str(ui.form.get("state", ""))[:20]
    query = f"state={back}&" if back in m.LISTED else ""
    return ui.redirect(f"{PAGE}?{query}done={done}")


@router.post(PAGE + "/residence/{addressee_number}")
def register_residence(addressee_number: str, ui: UiDep) -> Response:
    number = addressee_number[:20]
    values = _form(ui)
    payload = {"postal_code": values.get("postal_code", ""), "address": values.get("address", "")}
    try:
        mailing.register_residence(ui.uow, ui.actor, number, payload, ui.j.settings)
    except DomainError as exc:
        return _refused(ui, number, exc)
    return _back(ui, "residence")


@router.post(PAGE + "/residence/{addressee_number}/end")
def end_residence(addressee_number: str, ui: UiDep) -> Response:
    number = addressee_number[:20]
    try:
        mailing.end_residence(ui.uow, ui.actor, number, ui.j.settings)
    except DomainError as exc:
        return _refused(ui, number, exc)
    return _back(ui, "residence-end")


# After the 居所's routes: `/ui/mailing/residence/{n}` has this route's shape too.
@router.post(PAGE + "/{record_id}/{action}")
def act_on_record(record_id: str, action: str, ui: UiDep) -> Response:
    number = record_id[:40]
    try:
        if action == "flags":
            values = _form(ui)
            keys = ("print_category", "special_circumstance")
            payload: dict[str, Any] = {k: values[k] for k in keys if k in values}
            mailing.set_flags(ui.uow, ui.actor, number, payload)
        elif action == "release":
            mailing.release(ui.uow, ui.actor, number, ui.j.settings)
        elif action == "rebuild":
            mailing.rebuild(ui.uow, ui.actor, number, ui.j.settings)
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        return _refused(ui, number, exc)
    return _back(ui, action)
