"""Search, a person (current record, household, history as a timeline), a household, and the My Number reveal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain.errors import DomainError
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
from juki.services import register_queries, ui_queries
from juki.web.ui import labels
from juki.web.ui.core import Ui, UiRoute, current

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
        try:
            results = register_queries.search(ui.uow, ui.actor, {k: v.strip() for k, v in criteria.items()})
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


@router.get("/ui/households/{household_number}")
def household_page(household_number: str, ui: UiDep) -> Response:
    household = register_queries.get_household(ui.uow, ui.actor, validate_household_number(household_number))
    people = [*household["members"], *household["removed_members"]]
    return ui.render(
        "household.html",
        h=household,
        may_file=ui.may(REGISTER_FILE),
        protected=_flags(ui, people, household["household_number"]),
        may_view_protection=ui.may(PROTECTION_VIEW),
    )
