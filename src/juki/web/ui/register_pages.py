"""Search, a person (current record, household, history as a timeline), a household and its order (記載順位, j1010),
and the My Number reveal."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain.errors import DomainError, Forbidden, InvalidField, NotFound
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.policy.roles import (
    DEFAULT_PROCEDURE,
    LOG_READ,
    MY_NUMBER_REVEAL,
    PROTECTION_VIEW,
    REGISTER_APPROVE,
    REGISTER_FILE,
    REGISTER_READ,
)
from juki.services import filings, protection, register_queries, ui_queries
from juki.web import schemas
from juki.web.ui import forms, labels
from juki.web.ui.core import Ui, UiRoute, current
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
SEARCH_KEYS = ("name", "birth_date", "address", "sex", "name_match", "history")
_SEARCH_OPTIONS = ("name_match", "history")  # how to match; typed alone they start no search


@router.get("/ui/")
def search_page(ui: UiDep) -> Response:
    """The front page: the search, or for a role without the register (the auditor) its own first screen."""
    if not ui.may(REGISTER_READ):
        if ui.may(LOG_READ):
            return ui.redirect("/ui/audit")
        return ui.switch_to(DEFAULT_PROCEDURE.get(ui.actor.role, "resident_record"), "/ui/")
    return _search(ui, {k: "" for k in SEARCH_KEYS})


@router.post("/ui/search")
def search(ui: UiDep) -> Response:
    """検索: two of name / birth date / address (kana or kanji, wareki or western dates); 除票 are found too.

    The name matches exactly, from its start or anywhere (`name_match`); `history` searches earlier names and
    addresses too (標準仕様書 j330/j340, rules in policy/search.py).

    Posted, not put in the address: names and birth dates stay out of the browser's history and the access log.
    """
    return _search(ui, {k: str(ui.form.get(k) or "")[:300] for k in SEARCH_KEYS})


def _search(ui: Ui, criteria: dict[str, str]) -> Response:
    results: dict[str, Any] | None = None
    errors: dict[str, dict[str, Any]] = {}
    if any(v.strip() for k, v in criteria.items() if k not in _SEARCH_OPTIONS):
        body, problems = _search_body(criteria)
        errors = {p["field"]: p for p in problems}
        try:
            if body is not None:
                results = register_queries.search(ui.uow, ui.actor, body.params())
        except DomainError as exc:
            errors[exc.field or ""] = exc.to_dict()
    return ui.render(
        "search.html",
        status=422 if errors else 200,
        values=criteria,
        errors=errors,
        results=results,
        protected=_flags(ui, results["results"] if results else []),
    )


def _search_body(criteria: dict[str, str]) -> tuple[schemas.SearchCriteriaIn | None, list[dict[str, Any]]]:
    """The criteria through the request model and error list every input goes through (web/schemas.py): the check
    box sends `true`; every other criterion is text."""
    typed = {**criteria, "history": criteria.get("history", "") in forms.TRUE_TEXTS}
    return schemas.check(schemas.SearchCriteriaIn, typed)


def _flags(ui: Ui, people: list[dict[str, Any]], household: str | None = None) -> dict[str, str]:
    """支援措置 flags for the persons on a screen (j380: the record says so clearly)."""
    pairs = [(p["addressee_number"], p.get("household_number") or household or "") for p in people]
    return ui_queries.protection_flags(ui.uow, ui.actor, pairs)


def _diffs(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version with the items it changed against the one before (newest first, as a timeline reads)."""
    timeline = []
    previous: dict[str, Any] | None = None
    for v in versions:
        record = v["record"]
        changed = [
            (key, (previous or {}).get(key), record.get(key))
            for key in labels.DIFF_FIELDS
            if previous is not None and previous.get(key) != record.get(key)
        ]
        timeline.append({**v, "changed": changed, "first": previous is None})
        previous = record
    return list(reversed(timeline))


def _resident_page(ui: Ui, number: str, include_my_number: bool) -> Response:
    resident = register_queries.get_resident(ui.uow, ui.actor, number, include_my_number)
    history = register_queries.get_history(ui.uow, ui.actor, number)
    household = None
    if resident["status"] == "active":
        household = register_queries.get_household(ui.uow, ui.actor, resident["household_number"])
    people = [resident, *(household["members"] if household else [])]
    return ui.render(
        "resident.html",
        r=resident,
        protected=_flags(ui, people, resident["household_number"]),
        may_view_protection=ui.may(PROTECTION_VIEW),
        household=household,
        timeline=_diffs(history["versions"]),
        revealed=include_my_number,
        may_reveal=ui.may(MY_NUMBER_REVEAL),
        may_file=ui.may(REGISTER_FILE),
        may_approve=ui.may(REGISTER_APPROVE),
    )


@router.get("/ui/residents/{addressee_number}")
def resident_page(addressee_number: str, ui: UiDep) -> Response:
    return _resident_page(ui, validate_addressee_number(addressee_number), False)


@router.post("/ui/residents/{addressee_number}/my-number")
def reveal_my_number(addressee_number: str, ui: UiDep) -> Response:
    """An explicit, logged reveal (the service refuses and logs it for a role or 事務 that may not)."""
    number = validate_addressee_number(addressee_number)
    if ui.request.headers.get("hx-request") == "true":
        resident = register_queries.get_resident(ui.uow, ui.actor, number, include_my_number=True)
        return ui.render("_my_number.html", r=resident, revealed=True, may_reveal=True)
    return _resident_page(ui, number, True)


def _household_page(ui: Ui, household_number: str, status: int = 200, **extra: Any) -> Response:
    household = register_queries.get_household(ui.uow, ui.actor, validate_household_number(household_number))
    people = [*household["members"], *household["removed_members"]]
    warnings, ui.session = list(ui.session.flash), replace(ui.session, flash=())
    return ui.render(
        "household.html",
        status=status,
        h=household,
        may_file=ui.may(REGISTER_FILE),
        protected=_flags(ui, people, household["household_number"]),
        may_view_protection=ui.may(PROTECTION_VIEW),
        warnings=warnings,
        **extra,
    )


@router.get("/ui/households/{household_number}")
def household_page(household_number: str, ui: UiDep, reordered: int = -1) -> Response:
    return _household_page(ui, household_number, reordered=reordered)


# --- 記載順位の変更 (標準仕様書 j1010): the standard order, or the clerk's, confirmed before it is written ---------


def _typed_ranks(form: dict[str, Any]) -> dict[str, str]:
    """The manual form's numbers as typed, by 宛名番号 (`rank.<宛名番号>`), to show them again."""
    return {k[len("rank.") :]: str(v).strip() for k, v in form.items() if k.startswith("rank.")}


def _order_payload(form: dict[str, Any]) -> dict[str, Any]:
    """The reorder's body from the household page's forms, through the API's request model
    (`schemas.MemberOrderBody`): the body `POST /api/v1/households/{n}/member-order` hands to the service, or the
    first error as the API words it."""
    body, problems = schemas.check(schemas.MemberOrderBody, _order_form(form))
    if body is None:
        raise InvalidField(problems[0]["message"], problems[0]["field"])
    return body.model_dump(exclude_none=True)


def _order_form(form: dict[str, Any]) -> dict[str, Any]:
    """The manual form has one number per member (`rank.<宛名番号>`): the members sorted by those numbers are the
    order; the confirmation form sends the order itself (`addressee_numbers`)."""
    mode = str(form.get("mode") or "")
    payload: dict[str, Any] = {"mode": mode}
    version = str(form.get("version") or "").strip()
    if version:
        parsed = whole_number(version)
        payload["version"] = parsed if parsed is not None else version
    typed = _typed_ranks(form)
    if mode != "manual":
        return payload
    if not typed:
        payload["addressee_numbers"] = list(form.get("addressee_numbers") or [])
        return payload
    ranks: dict[str, int] = {}
    for number, text in typed.items():
        rank = whole_number(text)
        if rank is None:
            raise InvalidField("順番は1以上の数字で入力してください", f"rank.{number}")
        if rank in ranks.values():
            raise InvalidField("同じ順番が二人に付いています", f"rank.{number}")
        ranks[number] = rank
    payload["addressee_numbers"] = sorted(ranks, key=lambda n: ranks[n])
    return payload


def _order_refused(ui: Ui, household_number: str, exc: DomainError, typed: dict[str, str]) -> Response:
    """Back to the household page with the refusal (and the household as it is now); a permission refusal or a
    household that cannot be seen is the error page, as everywhere."""
    if isinstance(exc, Forbidden | NotFound):
        raise exc
    held = exc.persons if isinstance(exc, protection.HeldRecord) else []
    error = {**exc.to_dict(), "persons": held}
    return _household_page(ui, household_number, exc.status, order_error=error, order_values=typed)


@router.post("/ui/households/{household_number}/member-order/confirm")
def confirm_member_order(household_number: str, ui: UiDep) -> Response:
    """確認: the order the reorder would give (who moves), nothing written."""
    typed = _typed_ranks(ui.form)
    try:
        payload = _order_payload(ui.form)
        preview = filings.preview_member_order(ui.uow, ui.actor, household_number[:20], payload)
    except DomainError as exc:
        return _order_refused(ui, household_number[:20], exc, typed)
    return _household_page(ui, household_number[:20], order_preview=preview, order_payload=payload)


@router.post("/ui/households/{household_number}/member-order")
def reorder_members(household_number: str, ui: UiDep) -> Response:
    """登録: `filings.reorder_members` with the confirmed order; then the household page (PRG)."""
    try:
        payload = _order_payload(ui.form)
        result = filings.reorder_members(ui.uow, ui.actor, household_number[:20], payload)
    except DomainError as exc:
        return _order_refused(ui, household_number[:20], exc, {})
    if result["warnings"]:
        ui.session = replace(ui.session, flash=tuple(result["warnings"]))
    return ui.redirect(f"/ui/households/{result['household_number']}?reordered={len(result['changes'])}")
