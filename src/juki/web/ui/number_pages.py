"""The numbers at the counter (docs/numbers.md): who waits for a 個人番号 from J-LIS and the 住民票コード stock left
(/ui/numbers), and on a person's page the 住民票コード変更・記載, the 通知票 (j890) and the 個人番号の変更請求 — the
same services as the API (services/numbers.py), which check permissions, screen 支援措置 and log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from juki.domain.errors import DomainError
from juki.domain.identifiers import validate_addressee_number
from juki.services import numbers
from juki.web.ui.core import Ui, UiRoute, current

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]


@router.get("/ui/numbers")
def numbers_page(ui: UiDep) -> Response:
    stock = numbers.stock(ui.uow, ui.actor, ui.j.settings.resident_code_stock_threshold)
    return ui.render("numbers.html", stock=stock, waiting=numbers.waiting(ui.uow, ui.actor))


@router.get("/ui/residents/{addressee_number}/resident-code-notice")
def code_notice(addressee_number: str, ui: UiDep) -> Response:
    number = validate_addressee_number(addressee_number)
    pdf = numbers.code_notice(
        ui.uow, ui.actor, number, ui.j.settings.mailing_city_name, ui.j.render_code_notice
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="resident-code-notice.pdf"'},
    )


def _done(ui: Ui, number: str, title: str, message: str, notice: bool = False) -> Response:
    return ui.render("number_done.html", number=number, title=title, message=message, notice=notice)


def _refused(ui: Ui, number: str, title: str, exc: DomainError) -> Response:
    return ui.render("number_done.html", exc.status, number=number, title=title, error=exc.to_dict())


@router.post("/ui/residents/{addressee_number}/resident-code")
def change_code(addressee_number: str, ui: UiDep) -> Response:
    """住民票コード変更 (30条の4) for a person with a code, 記載 for one without: the 通知票 follows in the flow."""
    number = validate_addressee_number(addressee_number)
    kind = numbers.CODE_ENTRY_KIND if ui.form.get("entry") == "1" else numbers.CODE_CHANGE_KIND
    title = "住民票コードの記載" if kind == numbers.CODE_ENTRY_KIND else "住民票コードの変更"
    try:
        numbers.change_resident_code(ui.uow, ui.actor, kind, {"addressee_number": number})
    except DomainError as exc:
        return _refused(ui, number, title, exc)
    message = "新しい住民票コードを記載しました。通知票を印刷して本人に渡してください。"
    return _done(ui, number, title, message, notice=True)


@router.post("/ui/residents/{addressee_number}/my-number-change-request")
def request_number_change(addressee_number: str, ui: UiDep) -> Response:
    """個人番号の変更請求 (番号法7条2項): the new number comes from J-LIS through the CS."""
    number = validate_addressee_number(addressee_number)
    title = "個人番号の変更請求"
    try:
        numbers.request_change(ui.uow, ui.actor, number, str(ui.form.get("reason") or ""))
    except DomainError as exc:
        return _refused(ui, number, title, exc)
    message = (
        "地方公共団体情報システム機構に新しい個人番号を要求しました。回答は市町村CSを通じて記録されます。"
    )
    return _done(ui, number, title, message)
