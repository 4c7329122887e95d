"""The CS operator's page of the telegrams between cities (docs/cs-transfers.md): the 転出証明書情報 held for a
特例転入 (when each is erased), the telegrams sent (転出証明書情報, 転入通知) with the telegram error queue's
actions (再送, 破棄), and those received with what became of them. A thin page over cs/services/transfers.py, which
checks `cs:operate`, screens persons under a 支援措置 (no name, no birth date) and logs every look; no 個人番号 is
ever on it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from juki.cs.adapters import transfer_store
from juki.cs.services import transfers
from juki.cs.wire import TELEGRAM_NAMES, TelegramKind
from juki.domain.errors import DomainError, Forbidden
from juki.web.ui.core import CS_HOME, Ui, UiRoute, current
from juki.web.ui.cs_pages import REASON_MAX, cs_of
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
PAGE = "/ui/cs/transfers"
KINDS = {k.value: name for k, name in TELEGRAM_NAMES.items()}
STATES = {
    "queued": "送信待ち",
    "sent": "送信済み",
    "acknowledged": "受理",
    "error": "エラー",
    "discarded": "破棄",
}
OUTCOMES = {"held": "保管", "confirmed": "既存住基へ反映", "refused": "受け付けず"}
CODES = {
    "unknown_city": "送信先・送信元の市町村コードが不明",
    "already_resident": "この市町村に現存する者",
    "format_error": "形式エラー",
    "telegram_reused": "電文IDの重複",
    "unreachable": "住基ネットから応答なし",
    "move_out_not_found": "該当する転出がない",
    "not_for_us": "この市町村あてでない",
}
DONE = {"resend": "再送待ちにしました", "discard": "破棄しました。この電文は送信しません"}


def _page(ui: Ui, status: int = 200, **extra: object) -> Response:
    db = cs_of(ui.request)
    try:
        view = transfers.overview(ui.uow, db.transaction, transfer_store.of, ui.actor)
    except Forbidden:
        return ui.switch_to("cs", CS_HOME)
    query = ui.request.query_params
    return ui.render(
        "cs/transfers.html",
        status,
        view=view,
        kinds=KINDS,
        states=STATES,
        outcomes=OUTCOMES,
        codes=CODES,
        done=DONE.get(query.get("done", "")),
        done_telegram=query.get("telegram", ""),
        certificate_kind=TelegramKind.MOVE_OUT_CERTIFICATE.value,
        **extra,
    )


@router.get(PAGE)
def transfers_page(ui: UiDep) -> Response:
    return _page(ui)


@router.post(PAGE + "/{telegram}/{action}")
def act(telegram: str, action: str, ui: UiDep) -> Response:
    number, db = whole_number(telegram), cs_of(ui.request)
    try:
        if number is None:
            raise transfers.TelegramNotInError()
        if action == "resend":
            transfers.resend(ui.uow, db.transaction, transfer_store.of, ui.actor, number)
        elif action == "discard":
            reason = str(ui.form.get("reason") or "").strip()[:REASON_MAX]
            if not reason:
                raise DomainError("理由を入力してください", "reason", "reason_required")
            transfers.discard(ui.uow, db.transaction, transfer_store.of, ui.actor, number, reason)
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _page(ui, 422, failed=telegram, error={"code": exc.code, "message": exc.message})
    return ui.redirect(f"{PAGE}?done={action}&telegram={number}")
