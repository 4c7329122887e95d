"""コンビニ交付 in the clerk UI: a person's My Number cards (利用者証明用電子証明書) on their page, with the counter's
暗証番号ロック解除, 一時停止 / 利用再開 and 廃止; and the administrator's page of kiosks (コンビニ交付端末: register,
replace a certificate, retire) and J-LIS's revocation list (upload a CRL).

Every step calls `services.kiosk_registry`, which checks the permission and logs; a 支援措置 hides the person's cards as it
hides the person. The card list is loaded in place on the person's page (htmx) and its buttons swap it in place;
without JavaScript each is a page of its own (POST, then a redirect).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from juki.domain.errors import DomainError, Forbidden, InvalidField
from juki.domain.identifiers import validate_addressee_number
from juki.policy.roles import REGISTER_FILE
from juki.services import kiosk_registry, register_queries
from juki.web.api_kiosk import desk
from juki.web.api_kiosk_admin import MAX_CRL_BYTES
from juki.web.ui.core import Ui, UiRoute, current, is_htmx
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]

STATE_NAMES = {"active": "利用可", "suspended": "一時停止中", "revoked": "廃止"}
DONE = {
    "unlock": "暗証番号ロックを解除しました（暗証番号の再設定が済んでいることを確認してください）。",
    "active": "利用を再開しました。",
    "suspended": "一時停止しました。コンビニ交付では使えません。",
    "revoked": "廃止しました。このカードの電子証明書はコンビニ交付では使えません。",
}
KIOSK_DONE = {"register": "端末を登録しました。", "retire": "端末を廃止しました。"}
KIOSK_FIELDS = {
    "kiosk_id": "端末ID",
    "name": "名称",
    "certificate": "クライアント証明書",
    "crl": "失効リスト",
}


def _s(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _refusal(exc: DomainError) -> bool:
    """A refusal that is not about this input (the role or 事務 may not): the error page."""
    return exc.code == "forbidden" and exc.field is None


# --- a person's cards -----------------------------------------------------------------------------------------------


def _cards_page(
    ui: Ui,
    number: str,
    status: int = 200,
    done: str = "",
    failed: str = "",
    error: dict[str, Any] | None = None,
) -> Response:
    listed = kiosk_registry.cards_of(ui.uow, ui.actor, number)
    context = {
        "number": number,
        "cards": listed["cards"],
        "state_names": STATE_NAMES,
        "may_change": ui.may(REGISTER_FILE),
        "done": DONE.get(done, ""),
        "failed": failed,
        "error": error,
    }
    if is_htmx(ui.request):  # swapped into the person's page (an htmx error is shown in place: 200)
        return ui.render("kiosk/_cards.html", **context)
    resident = register_queries.get_resident(ui.uow, ui.actor, number)
    return ui.render("kiosk/cards.html", status=status, r=resident, **context)


@router.get("/ui/residents/{addressee_number}/cards")
def cards(addressee_number: str, ui: UiDep, done: str = "") -> Response:
    """The person's cards: loaded in place on their page (htmx); without JavaScript, a page of its own."""
    return _cards_page(ui, validate_addressee_number(addressee_number[:20]), done=done[:20])


@router.post("/ui/cards/{serial}/{action}")
def change_card(serial: str, action: str, ui: UiDep) -> Response:
    """暗証番号ロック解除 (`unlock`) or a new state (`state`: active / suspended / revoked), for the card on the person's
    page (`_addressee_number`)."""
    number = validate_addressee_number(_s(ui.form, "_addressee_number")[:20])
    key = serial[:40]
    state = _s(ui.form, "state")
    try:
        if action == "unlock":
            kiosk_registry.reset_pin_lock(ui.uow, ui.actor, key)
            done = "unlock"
        elif action == "state":
            kiosk_registry.set_card_state(ui.uow, ui.actor, key, state)
            done = state
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _cards_page(ui, number, 422, failed=key, error=exc.to_dict())
    if is_htmx(ui.request):
        return _cards_page(ui, number, done=done)
    return ui.redirect(f"/ui/residents/{number}/cards?done={done}")


# --- kiosks and J-LIS's revocation list (administrator) -------------------------------------------------------------


def _kiosks_page(
    ui: Ui,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, dict[str, Any]] | None = None,
    done: str | None = None,
) -> Response:
    try:
        listed = kiosk_registry.list_kiosks(ui.uow, ui.actor)
    except Forbidden:
        return ui.switch_to("administration", "/ui/kiosks")
    if done is None:  # after a redirect: what was done, from the address
        query = ui.request.query_params
        done = KIOSK_DONE.get(query.get("done", ""), "")
        if query.get("done") == "crl":
            listed_n, added_n = (_count(query.get(k)) for k in ("listed", "added"))
            done = f"失効リストを取り込みました: 掲載 {listed_n}件、うち新たに失効としたもの {added_n}件。"
    return ui.render(
        "kiosk/kiosks.html",
        status=status,
        kiosks=listed["kiosks"],
        revocations=listed["revocations"],
        done=done,
        field_names=KIOSK_FIELDS,
        values=values or {},
        errors=errors or {},
        first_error=next((name for name in KIOSK_FIELDS if name in (errors or {})), None),
    )


def _count(text: str | None) -> int:
    return whole_number(text or "") or 0


@router.get("/ui/kiosks")
def kiosks_page(ui: UiDep) -> Response:
    return _kiosks_page(ui)


@router.post("/ui/kiosks")
def register_kiosk(ui: UiDep) -> Response:
    """登録 (or a new certificate for a registered kiosk id): the certificate must be the kiosk CA's, for this id."""
    values = {k: _s(ui.form, k) for k in ("kiosk_id", "name", "certificate")}
    try:
        done = kiosk_registry.register_kiosk(
            ui.uow,
            desk(ui.request).trust,
            ui.actor,
            values["kiosk_id"],
            values["name"],
            values["certificate"],
        )
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _kiosks_page(ui, 422, values=values, errors={exc.field or "": exc.to_dict()}, done="")
    return ui.redirect(f"/ui/kiosks?done=register&kiosk={done['kiosk_id']}")


@router.post("/ui/kiosks/{kiosk_id}/retire")
def retire_kiosk(kiosk_id: str, ui: UiDep) -> Response:
    try:
        kiosk_registry.retire_kiosk(ui.uow, ui.actor, kiosk_id[:32])
    except DomainError as exc:
        if _refusal(exc):
            raise
        return _kiosks_page(ui, exc.status, errors={"retire": exc.to_dict()}, done="")
    return ui.redirect(f"/ui/kiosks?done=retire&kiosk={kiosk_id[:32]}")


@router.post("/ui/card-revocations")
async def import_revocations(ui: UiDep) -> Response:
    """J-LIS's CRL as a file (DER or PEM), sent as multipart/form-data."""
    # The permission is checked before the file is read into memory; the CSRF check has already made Starlette
    # spool the upload to a temporary file (uvicorn/proxy body limits bound it; the API route streams instead).
    await run_in_threadpool(kiosk_registry.may_import_revocations, ui.uow, ui.actor)
    upload = (await ui.request.form()).get("crl")  # parsed once already (CSRF); files are kept by Starlette
    data = b""
    try:
        if isinstance(upload, UploadFile):
            data = await upload.read(MAX_CRL_BYTES + 1)
        if len(data) > MAX_CRL_BYTES:
            raise InvalidField("失効リストが大きすぎます", "crl")
        answer = await run_in_threadpool(
            kiosk_registry.import_revocations, ui.uow, desk(ui.request).trust, ui.actor, data
        )
    except DomainError as exc:
        if _refusal(exc):
            raise
        return await run_in_threadpool(
            _kiosks_page, ui, 422, errors={exc.field or "crl": exc.to_dict()}, done=""
        )
    return ui.redirect(f"/ui/kiosks?done=crl&listed={answer['listed']}&added={answer['added']}")
