"""The CS operator's page (市町村CS, 住基法30条の6): the notices to the prefecture counted by state, the latest
ones, and the error queue with its actions — correct and resend, send back to the register (差戻し), resend,
discard — each a POST through cs/services/errors.py (which checks `cs:operate` and writes the CS log and the
register's operation log); the latest comparison with the register (標準仕様書 j1100: when, how many persons,
each difference by 住民票コード and item, cs/services/comparison.py); how the CS sends now — by link or by media
(標準仕様書 j1090, cs/services/media.py: the switch is a POST, logged in both logs; how many notices are handed over
on media and wait for the prefecture's answers); the 住民票コード stock as the CS last saw it, with j870's warning
when it is low, and the J-LIS error queue (cs/services/jlis.py: each refusal by what it was about, its id, the
住民票コード, its code and item — never a number). Below them, the operator's own authenticators (WebAuthn sign-in,
webauthn_pages.py).

What is listed and how a person under a 支援措置 is shown is cs/services/overview.py's. No 個人番号 is ever on
the page: the services leave it out of everything they hand here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from juki.cs.adapters import jlis_tables, media_tables
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.domain.items import ITEMS
from juki.cs.services import comparison, errors, jlis, media, overview
from juki.domain.errors import DomainError, Forbidden, InvalidField
from juki.services import webauthn
from juki.web.ui.core import CS_HOME, Ui, UiRoute, current
from juki.web.ui.forms import whole_number
from juki.web.ui.webauthn_pages import ENROL

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

# The queue's states (cs/services/ports.py) in the operator's words.
STATES = {
    "queued": "送信待ち",
    "sent": "送信済み",
    "acknowledged": "受理",
    "error": "エラー",
    "corrected": "修正済み（再送待ち）",
    "sent_back": "既存住基へ差戻し中",
    "held": "保留",
    "discarded": "破棄",
    "on_media": "媒体で引渡し済み（回答待ち）",
}
# The counts at the top: エラー is every entry waiting for the operator (error, corrected, sent back).
COUNTED = (
    ("送信待ち", ("queued",)),
    ("送信済み", ("sent",)),
    ("受理", ("acknowledged",)),
    ("エラー", ("error", "corrected", "sent_back")),
    ("保留", ("held",)),
    ("破棄", ("discarded",)),
    ("媒体（回答待ち）", ("on_media",)),
)
# The checks' and the prefecture's codes (docs/cs.md) in words.
CODES = {
    "missing_resident_code": "住民票コードなし",
    "format_error": "形式エラー",
    "logic_error": "論理エラー",
    "out_of_order": "順序誤り（都道府県サーバ）",
    "sequence_reused": "更新順番号の重複（都道府県サーバ）",
    "unknown_resident_code": "未登録の住民票コード（都道府県サーバ）",
}
# Which actions each state of the error queue allows (cs/services/errors.py).
ACTIONS = {
    "error": ("correct", "send_back", "resend"),
    "corrected": ("correct", "send_back", "resend"),
    "sent_back": ("correct", "resend", "discard"),
}
RESENT = {"correct": "corrected", "resend": "resent"}
DONE = {
    "corrected": "修正して再送しました（送信待ちにしました）",
    "send_back": "既存住基へ差し戻しました",
    "resent": "再送しました（送信待ちにしました）",
    "still_error": "再送しましたが、検査でまたエラーになりました。内容を確認してください",
    "discard": "破棄しました。この通知は送信しません",
    "mode_media": "媒体による送信に切り替えました。回線では通知を送信しません",
    "mode_link": "回線による送信に戻しました。送信待ちの通知から順に送信します",
}
REASON_MAX = 200
# The J-LIS error queue (cs/services/jlis.py, docs/cs-jlis.md): what each entry is about, and its codes in words.
JLIS_SUBJECTS = {
    "block": "住民票コードの払出し",
    "request": "個人番号の要求",
    "answer": "個人番号の回答",
    "mailing": "送付先情報",
    "link_code": "符号取得の要求",
}
JLIS_CODES = {
    "resident_code_block_overlaps": "使用済み・在庫済みの住民票コードを含む",
    "number_request_not_found": "要求していない（処理済みの）要求への回答",
    "duplicate_my_number": "他の住民の個人番号",
    "invalid_my_number": "個人番号の形式の誤り",
    "malformed_answer": "回答の形式の誤り",
    "mismatch": "本人確認情報との不一致（突合）",
    "format_error": "形式エラー",
    "block_request_reused": "払出し要求IDの重複",
    "request_reused": "要求IDの重複",
    "record_reused": "送付先管理の記録の重複",
    "invalid_field": "項目の誤り",
    "invalid_resident_code": "住民票コードの形式の誤り",
    "unknown_serial": "情報提供ネットワークシステムが払い出していない処理通番",
    "serial_reused": "処理通番の重複（別の者）",
}


def cs_of(request: Request) -> CsDatabase:
    """The CS's database, opened once by the composition root (`Juki.cs`)."""
    db: CsDatabase = request.app.state.juki.cs
    return db


def _page(ui: Ui, status: int = 200, **extra: Any) -> Response:
    cs = cs_of(ui.request).transaction
    try:
        seen = overview.overview(ui.uow, cs, ui.actor)
        compared = comparison.latest(ui.uow, cs, ui.actor)
        numbers = jlis.status(ui.uow, cs, jlis_tables.of, ui.actor)
    except Forbidden:
        return ui.switch_to("cs", CS_HOME)
    counts = [(label, sum(seen.counts.get(s, 0) for s in states)) for label, states in COUNTED]
    query = ui.request.query_params
    return ui.render(
        "cs/index.html",
        status,
        counts=counts,
        latest=seen.latest,
        entries=seen.errors,
        entries_total=seen.errors_total,
        compared=compared,
        sending=media.status(cs, media_tables.of),
        numbers=numbers,
        jlis_subjects=JLIS_SUBJECTS,
        jlis_codes=JLIS_CODES,
        states=STATES,
        codes=CODES,
        actions=ACTIONS,
        fields=[(ITEMS.index(i), i) for i in overview.EDITABLE],
        done=DONE.get(query.get("done", "")),
        done_entry=query.get("entry", ""),
        done_code=CODES.get(query.get("code", ""), ""),
        credentials=webauthn.list_credentials(ui.uow, ui.actor),
        deactivated=query.get("done") == "deactivated",
        enrol=ENROL,
        **extra,
    )


@router.get(CS_HOME)
def cs_home(ui: UiDep) -> Response:
    return _page(ui)


def _entry(entry_id: str) -> int:
    number = whole_number(entry_id)
    if number is None:
        raise errors.EntryNotFound()
    return number


def _reason(ui: Ui) -> str:
    return str(ui.form.get("reason") or "").strip()[:REASON_MAX]


def _posted_items(ui: Ui) -> dict[str, str]:
    """The correction form's fields (`item-<n>`, n the item's place among the 36) back to the items' names."""
    posted = {}
    for name, value in ui.form.items():
        n = whole_number(name.removeprefix("item-"), 2) if name.startswith("item-") else None
        if n is not None and n < len(ITEMS) and isinstance(value, str):
            posted[ITEMS[n]] = value
    return posted


@router.post("/ui/cs/errors/{entry_id}/{action}")
def act(entry_id: str, action: str, ui: UiDep) -> Response:
    number, cs = _entry(entry_id), cs_of(ui.request).transaction
    done = action
    try:
        if action in ("correct", "resend"):
            if action == "correct":  # 修正して再送: the correction, then at once the resend
                overview.correct(ui.uow, cs, ui.actor, number, _posted_items(ui))
            code = errors.resend(ui.uow, cs, ui.actor, number)
            done = RESENT[action] if code is None else f"still_error&code={code}"
        elif action == "send_back":
            reason = _reason(ui) or _missing_reason()
            errors.send_back(ui.uow, cs, ui.actor, number, reason)
        elif action == "discard":
            errors.discard(ui.uow, cs, ui.actor, number, _reason(ui) or _missing_reason())
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _page(ui, 422, failed=number, failed_action=action, error=_said(exc))
    return ui.redirect(f"{CS_HOME}?done={done}&entry={number}#entry-{number}")


class ReasonMissing(InvalidField):
    default_message = "理由を入力してください"
    default_field = "reason"


def _missing_reason() -> str:
    raise ReasonMissing()


def _said(exc: DomainError) -> dict[str, str]:
    """The refusal in the operator's words (the service's own state names are not for the page)."""
    if isinstance(exc, errors.EntryNotInState):
        message = "この通知はいまの状態ではこの操作ができません。画面を開き直して状態を確認してください"
        return {"code": exc.code, "message": message}
    return {"code": exc.code, "message": exc.message}


@router.post("/ui/cs/media-mode")
def switch_mode(ui: UiDep) -> Response:
    """Send by link or by media from now on (標準仕様書 j1090); the service checks `cs:operate` and logs it."""
    to = str(ui.form.get("mode") or "")
    try:
        media.switch(ui.uow, cs_of(ui.request).transaction, media_tables.of, ui.actor, to)
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _page(ui, 422, mode_error={"code": exc.code, "message": exc.message})
    return ui.redirect(f"{CS_HOME}?done=mode_{to}#sending")
