"""Data-subject requests (開示・訂正・利用停止請求) at the counter: recording one with the identity check, the list
by deadline, and a supervisor's steps — extension, decision, answer — and the disclosure package to hand over.
The services (services/subject_requests) authorise, check each rule and log; here only forms and pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain import subject_requests as rules
from juki.domain.errors import DomainError
from juki.policy.roles import SUBJECT_REQUEST_DECIDE, SUBJECT_REQUEST_FILE
from juki.services import subject_requests
from juki.web.ui.core import Ui, UiRoute, current, wareki
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
DECISION_NAMES = {
    "disclose": "開示",
    "partial": "部分開示",
    "refuse": "不開示",
    "correct": "訂正",
    "no_correction": "訂正しない",
    "suspend": "利用停止",
    "no_suspension": "利用停止しない",
}
STATE_NAMES = {"received": "受付", "extended": "延長", "decided": "決定済み", "answered": "通知済み"}


def _choices() -> dict[str, Any]:
    return {
        "kinds": list(rules.KINDS.items()),
        "requester_types": list(rules.REQUESTER_TYPES.items()),
        "documents": list(rules.IDENTITY_DOCUMENTS.items()),
        "authority_documents": list(rules.AUTHORITY_DOCUMENTS.items()),
        "kind_names": rules.KINDS,
        "requester_type_names": rules.REQUESTER_TYPES,
        "decision_names": DECISION_NAMES,
        "state_names": STATE_NAMES,
    }


@router.get("/ui/requests")
def requests_page(ui: UiDep, overdue: int = 0) -> Response:
    if not ui.may(SUBJECT_REQUEST_FILE):
        return ui.switch_to("subject_request", "/ui/requests")
    listed = subject_requests.list_requests(ui.uow, ui.actor, overdue=True if overdue else None)
    return ui.render("requests.html", requests=listed["requests"], overdue=bool(overdue), **_choices())


def _new_page(ui: Ui, values: dict[str, Any], errors: dict[str, dict[str, Any]] | None = None) -> Response:
    errors = errors or {}
    return ui.render(
        "request_new.html",
        status=422 if errors else 200,
        values=values,
        errors=errors,
        first_error=next(iter(errors), None),
        **_choices(),
    )


@router.get("/ui/requests/new")
def new_request(ui: UiDep, addressee_number: str = "") -> Response:
    if not ui.may(SUBJECT_REQUEST_FILE):
        return ui.switch_to("subject_request", f"/ui/requests/new?addressee_number={addressee_number[:20]}")
    values = {
        "addressee_number": addressee_number[:20],
        "received_on": wareki(ui.today()),
        "requester.type": "self",
    }
    return _new_page(ui, values)


@router.post("/ui/requests")
def record_request(ui: UiDep) -> Response:
    values = {k: v for k, v in ui.form.items() if isinstance(v, str)}
    payload: dict[str, Any] = {
        "kind": values.get("kind", ""),
        "addressee_number": values.get("addressee_number", "").strip(),
        "requester": {
            "type": values.get("requester.type", ""),
            "name": values.get("requester.name", ""),
            "relationship": values.get("requester.relationship") or None,
        },
        "identity_check": {
            "document": values.get("identity_check.document", ""),
            "authority_document": values.get("identity_check.authority_document") or None,
        },
        "received_on": values.get("received_on", ""),
        "text": values.get("text", ""),
        "include_my_number": values.get("include_my_number") == "1",
    }
    try:
        created = subject_requests.create(ui.uow, ui.actor, payload)
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _new_page(ui, values, {exc.field or "": exc.to_dict()})
    return ui.redirect(f"/ui/requests/{created['request_id']}?done=file")


def _request_page(ui: Ui, request_id: str, errors: dict[str, dict[str, Any]] | None = None) -> Response:
    request = subject_requests.get(ui.uow, ui.actor, request_id)
    return ui.render(
        "request.html",
        status=422 if errors else 200,
        q=request,
        errors=errors or {},
        values={k: v for k, v in ui.form.items() if isinstance(v, str)},
        decisions=[(d, DECISION_NAMES[d]) for d in rules.DECISIONS[request["kind"]]],
        may_decide=ui.may(SUBJECT_REQUEST_DECIDE),
        **_choices(),
    )


@router.get("/ui/requests/{request_id}")
def request_page(request_id: str, ui: UiDep) -> Response:
    return _request_page(ui, request_id[:40])


@router.post("/ui/requests/{request_id}/{step}")
def request_step(request_id: str, step: str, ui: UiDep) -> Response:
    """延長・決定・通知: one step of the request's life, by a supervisor."""
    form = {k: v.strip() for k, v in ui.form.items() if isinstance(v, str) and v.strip()}
    number = request_id[:40]
    try:
        if step == "extend":
            days = form.get("days", "")
            payload: dict[str, Any] = {
                "reason": form.get("reason", ""),
                "days": whole_number(days) or days,
            }
            subject_requests.extend(ui.uow, ui.actor, number, payload)
        elif step == "decide":
            subject_requests.decide(ui.uow, ui.actor, number, form)
        elif step == "answer":
            subject_requests.answer(ui.uow, ui.actor, number, form)
        else:
            return ui.redirect(f"/ui/requests/{number}")
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _request_page(ui, number, {f"{step}.{exc.field}": exc.to_dict()})
    return ui.redirect(f"/ui/requests/{number}?done={step}")


@router.get("/ui/requests/{request_id}/disclosure")
def disclosure(request_id: str, ui: UiDep) -> Response:
    """開示する内容: the record, its versions, who used it and what went out — built and logged on request."""
    package = subject_requests.disclosure_package(ui.uow, ui.actor, request_id[:40])
    return ui.render("disclosure.html", p=package)
