"""Filing at the counter: a form per kind → a confirmation of what will change → the result (new versions).

The form builds the same body as `POST /api/v1/filings/{kind}` and puts it through the same request model and
parser (`forms.parse_with_intake`); the confirmation runs the domain handler without writing (`ui_queries.preview`),
and 登録 calls `filings.file` — so the rules, error codes and messages are the API's. Ex officio changes go to the supervisor's approval queue, where the diff is shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain.dates import parse_date
from juki.domain.errors import DomainError, NotFound
from juki.policy.roles import REGISTER_APPROVE
from juki.services import card_moves, filings, protection, register_queries, ui_queries
from juki.web.ui import forms, labels
from juki.web.ui.core import Ui, UiRoute, current, wareki

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
KINDS = (*labels.FILING_KINDS, *labels.EX_OFFICIO_KINDS)
MAX_PERSONS = 20


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound("該当する届出の種類がありません", "kind")
    return kind


def _template(kind: str) -> str:
    return f"filing_{kind.replace('-', '_')}.html"


def _subject(ui: Ui, values: dict[str, Any], errors: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The household or person a form acts on, read (and logged) to offer its members as choices."""
    context: dict[str, Any] = {"household": None, "resident": None}
    number = str(values.get("addressee_number") or "").strip()
    if number:
        try:
            context["resident"] = register_queries.get_resident(ui.uow, ui.actor, number)
        except DomainError as exc:
            errors.setdefault("addressee_number", exc.to_dict())
        else:
            values.setdefault("household_number", context["resident"]["household_number"])
    household = str(values.get("household_number") or "").strip()
    if household and (context["resident"] is None or context["resident"]["status"] == "active"):
        try:
            context["household"] = register_queries.get_household(ui.uow, ui.actor, household)
        except DomainError as exc:
            errors.setdefault("household_number", exc.to_dict())
    return context


def _form_page(
    ui: Ui,
    kind: str,
    values: dict[str, Any],
    errors: dict[str, dict[str, Any]] | None = None,
    status: int = 200,
    held: protection.HeldRecord | None = None,
    card: dict[str, Any] | None = None,
) -> Response:
    errors = dict(errors or {})
    subject = _subject(ui, values, errors)
    persons = max(1, min(MAX_PERSONS, int(str(values.get("_persons") or 1) or 1)))
    values["_persons"] = str(persons)
    first_error = next((name for name in errors if name), None) or values.pop("_focus", None)
    return ui.render(
        _template(kind),
        status=status if not errors or status != 200 else 422,
        kind=kind,
        values=values,
        errors=errors,
        hints={},
        first_error=first_error,
        persons=persons,
        held=held and {"message": held.message, "code": held.code, "persons": held.persons},
        card=card or {},
        **subject,
    )


@router.get("/ui/filings/{kind}/new")
def new_filing(
    kind: str,
    ui: UiDep,
    household_number: str = "",
    addressee_number: str = "",
) -> Response:
    kind = _kind(kind)
    values: dict[str, Any] = {"filed_on": wareki(ui.today())}
    if kind in ("move-in", "ex-officio-entry"):
        values["address.address"] = "東京都小平市"
        if household_number:  # joining a household: at its address
            joined = register_queries.get_household(ui.uow, ui.actor, household_number[:20])
            values["_household"] = "existing"
            values["household.household_number"] = joined["household_number"]
            values["address.address"] = joined["address"]["address"]
            values["address.katagaki"] = joined["address"].get("katagaki") or ""
    elif household_number:
        values["household_number"] = household_number[:20]
    if addressee_number:
        values["addressee_number"] = addressee_number[:20]
        if kind == "ex-officio-removal":
            values["addressee_numbers"] = [addressee_number[:20]]
    if kind == "move-within":
        values["address.address"] = "東京都小平市"
    picked = ui.request.query_params.getlist("addressee_numbers")
    if picked:
        values["addressee_numbers"] = [n[:20] for n in picked[:50]]
    return _form_page(ui, kind, values)


@router.post("/ui/filings/{kind}/form")
def refill_form(kind: str, ui: UiDep) -> Response:
    """The form again with what was typed: 修正する on the confirmation, or one more person (works without JS)."""
    kind = _kind(kind)
    values = dict(ui.form)
    if values.pop("_action", None) == "add_person":
        values["_persons"] = str(int(str(values.get("_persons") or 1)) + 1)
        values["_focus"] = f"persons.{int(values['_persons']) - 1}.family_name"
    return _form_page(ui, kind, values)


# --- 特例転入: the form filled from the CS's 転出証明書情報 (住基法24条の2; services/card_moves.py) ----------------


def _fill_from(values: dict[str, Any], held: dict[str, Any]) -> None:
    """The first person and the previous address as the 転出証明書情報 gives them; never the 個人番号, which the
    service carries into the filing itself."""
    p = "persons.0."
    values.update(
        {
            "card_move_in": "1",
            "moveout_certificate_id": held["certificate_id"],
            p + "family_name": held["family_name"],
            p + "given_name": held["given_name"],
            p + "family_name_kana": held["family_name_kana"],
            p + "given_name_kana": held["given_name_kana"],
            p + "birth_date": wareki(date.fromisoformat(held["birth_date"])),
            p + "sex": held["sex"],
            p + "relationship": held["relationship"],
            p + "resident_code": held["resident_code"],
            "previous_address.address": held["previous_address"],
            "previous_address.municipality_code": held["previous_city_code"],
            "_abroad": "",
        }
    )


def _lookup_criteria(values: dict[str, Any]) -> dict[str, Any]:
    """The look-up's inputs (the form's own `_lookup.*`, never sent with the filing); a date as typed, in wareki too."""
    criteria = {
        k: str(values.get(f"_lookup.{k}") or "").strip() for k in ("resident_code", "family_name_kana")
    }
    born = str(values.get("_lookup.birth_date") or "").strip()
    if born:
        criteria["birth_date"] = parse_date(born, "_lookup.birth_date").isoformat()
    return {k: v for k, v in criteria.items() if v}


@router.post("/ui/filings/move-in/card-lookup")
def card_lookup(ui: UiDep) -> Response:
    """特例転入: look up the 転出証明書情報 the CS holds (by 住民票コード from the card, or kana name and birth date);
    one found fills the form, several are offered to choose from (`_pick`), none says so beside the look-up."""
    values = dict(ui.form)
    values.pop("_action", None)
    port = ui.j.moveout_certificates
    try:
        found = card_moves.look_up(ui.uow, port, ui.actor, _lookup_criteria(values))["certificates"]
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _form_page(ui, "move-in", values, {"_lookup.resident_code": exc.to_dict()}, status=exc.status)
    picked = str(values.pop("_pick", "") or "")
    chosen = [h for h in found if h["certificate_id"] == picked] if picked else found
    if len(chosen) == 1:
        _fill_from(values, chosen[0])
        return _form_page(ui, "move-in", values, card={"held": chosen[0]})
    if not found:
        missing = {"code": "moveout_certificate_not_found", "field": "_lookup.resident_code"}
        message = "市町村CSに該当する転出証明書情報がありません。転出証明書による転入届を受け付けてください"
        return _form_page(ui, "move-in", values, {"_lookup.resident_code": {**missing, "message": message}})
    return _form_page(ui, "move-in", values, card={"choices": found})


@router.post("/ui/filings/{kind}/validate")
def validate_inline(kind: str, ui: UiDep) -> Response:
    """Inline validation (htmx, on every change): each filled field's error or wareki reading, swapped in place."""
    kind = _kind(kind)
    result = forms.read(kind, ui.form)
    forms.parse_with_intake(kind, result, inline=True)
    names = [n for n in ui.form if not n.startswith("_")]
    return ui.render("_inline_errors.html", names=names, errors=result.errors, hints=result.hints)


def _with_form(ui: Ui, kind: str, act: Callable[[forms.FormResult], Response]) -> Response:
    """Read the kind's form and act on its body; an error (but a refusal) goes back beside its field.

    A hold on 異動入力 (抑止, j410) refuses the whole filing: the form comes back with what was typed, saying so
    above everything and naming the persons it holds (`protected_record`, logged as held by the services)."""
    result = forms.read(kind, ui.form)
    forms.parse_with_intake(kind, result)
    if result.ok:
        try:
            return act(result)
        except protection.HeldRecord as exc:
            return _form_page(ui, kind, result.values, status=exc.status, held=exc)
        except DomainError as exc:
            if exc.status == 403:
                raise
            result.add(exc)
    return _form_page(ui, kind, result.values, result.errors, status=422)  # dates come back in wareki


@router.post("/ui/filings/{kind}/confirm")
def confirm(kind: str, ui: UiDep) -> Response:
    """確認: the versions the filing would write, or the form again with each error beside its field."""
    kind = _kind(kind)
    return _with_form(
        ui,
        kind,
        lambda result: ui.render(
            "confirm.html",
            kind=kind,
            values=result.values,
            preview=_preview(ui, kind, result.payload),
            ex_officio=kind in labels.EX_OFFICIO_KINDS,
        ),
    )


def _preview(ui: Ui, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind == "move-in":  # a 特例転入 reads the CS's 転出証明書情報 first, as 登録 will
        port = ui.j.moveout_certificates
        return card_moves.preview_move_in(ui.uow, port, ui.actor, payload)
    return ui_queries.preview(ui.uow, ui.actor, kind, payload)


def _done(ui: Ui, result: filings.FilingResult) -> Response:
    """The filing's own page (a reload files nothing twice), with the warnings of the filing shown there once."""
    if result.warnings:
        ui.session = replace(ui.session, flash=tuple(result.warnings))
    return ui.redirect(f"/ui/filings/{result.filing_id}?done=1")


@router.post("/ui/filings/{kind}")
def submit(kind: str, ui: UiDep) -> Response:
    """登録: `filings.file` with the confirmed body; then the filing's own page."""
    kind = _kind(kind)
    if kind == "move-in":  # a 特例転入 reads the CS's 転出証明書情報 (services/card_moves.py)
        port = ui.j.moveout_certificates
        return _with_form(
            ui, kind, lambda r: _done(ui, card_moves.file_move_in(ui.uow, port, ui.actor, r.payload))
        )
    return _with_form(
        ui, kind, lambda result: _done(ui, filings.file(ui.uow, ui.actor, kind, result.payload))
    )


@router.get("/ui/filings")
def filing_list(ui: UiDep, late: int = 1) -> Response:
    """届出期間経過 (住基法第52条): filings made more than 14 days after the change, for the summary court."""
    listed = register_queries.list_filings(ui.uow, ui.actor, late=bool(late) or None)
    rows = []
    for f in listed["filings"]:
        days = None
        if f["changed_on"]:
            days = (date.fromisoformat(f["filed_on"]) - date.fromisoformat(f["changed_on"])).days
        rows.append({**f, "days": days})
    return ui.render("filings.html", filings=rows, late=bool(late))


@router.get("/ui/filings/{filing_id}")
def filing_page(filing_id: str, ui: UiDep, done: int = 0) -> Response:
    filing = register_queries.get_filing(ui.uow, ui.actor, filing_id[:40])
    names = {}
    for change in filing.get("changes", []):
        try:
            person = register_queries.get_resident(ui.uow, ui.actor, change["addressee_number"])
        except DomainError:
            continue
        names[change["addressee_number"]] = f"{person['family_name']} {person['given_name']}"
    warnings, ui.session = list(ui.session.flash), replace(ui.session, flash=())
    return ui.render("filing.html", f=filing, names=names, done=bool(done), warnings=warnings)


# --- 決裁 (the supervisor's approval queue) ----------------------------------------------------------------


@router.get("/ui/approvals")
def approvals(ui: UiDep) -> Response:
    pending = register_queries.list_filings(ui.uow, ui.actor, approval_state="pending")
    return ui.render("approvals.html", filings=pending["filings"], may_approve=ui.may(REGISTER_APPROVE))


@router.get("/ui/approvals/{filing_id}")
def approval_page(filing_id: str, ui: UiDep) -> Response:
    pending = ui_queries.pending_change(ui.uow, ui.actor, filing_id[:40])
    return ui.render(
        "approval.html",
        p=pending,
        may_approve=ui.may(REGISTER_APPROVE),
        own=pending["filing"]["staff_id"] == ui.actor.staff_id,
    )


@router.post("/ui/approvals/{filing_id}/approve")
def approve(filing_id: str, ui: UiDep) -> Response:
    return _done(ui, filings.decide(ui.uow, ui.actor, filing_id[:40], approve=True))


@router.post("/ui/approvals/{filing_id}/return")
def send_back(filing_id: str, ui: UiDep) -> Response:
    comment = str(ui.form.get("comment") or "")[:500]
    filings.decide(ui.uow, ui.actor, filing_id[:40], approve=False, comment=comment)
    return ui.redirect("/ui/approvals?returned=1")
