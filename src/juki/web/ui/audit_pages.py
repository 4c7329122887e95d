"""The auditor's screens (監査): the operation log searched page by page, and the reports of j1370 — on the page
and as CSV (UTF-8 with BOM, Japanese headers). The services authorise (`log:read`) and log every look."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Response

from juki.domain.dates import parse_date
from juki.domain.errors import DomainError
from juki.services import audit_reports
from juki.web.api_audit import audit_settings
from juki.web.ui.core import Ui, UiRoute, current

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
LOG_FILTERS = ("from", "to", "staff_id", "action", "target", "result", "terminal", "my_number_shown", "after")
REPORT_FILTERS = ("from", "to", "staff_id")


def _params(
    ui: Ui, keys: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, Any]]]:
    """The query as typed (shown back), as the service takes it (dates in ISO), and the errors per field."""
    typed = {k: ui.request.query_params.get(k, "")[:100] for k in keys}
    given: dict[str, str] = {}
    errors: dict[str, dict[str, Any]] = {}
    for key, value in typed.items():
        if not value.strip():
            continue
        if key in ("from", "to"):  # wareki or western, as everywhere in the UI
            try:
                given[key] = parse_date(value, key).isoformat()
            except DomainError as exc:
                errors[key] = exc.to_dict()
        else:
            given[key] = value.strip()
    return typed, given, errors


def _csv(report: audit_reports.Report) -> Response:
    return Response(
        audit_reports.csv_bytes(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


@router.get("/ui/audit")
def log_page(ui: UiDep, csv: int = 0) -> Response:
    typed, given, errors = _params(ui, LOG_FILTERS)
    page = None
    if not errors and (given or "from" in ui.request.query_params):
        try:
            page = audit_reports.search_log(ui.uow, ui.actor, {**given, "format": "csv" if csv else "json"})
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors[exc.field or ""] = exc.to_dict()
    if page is not None and csv:
        return _csv(page)
    more = None
    if page is not None and page.next:
        more = "/ui/audit?" + urlencode({**{k: v for k, v in typed.items() if v}, "after": page.next})
    query = urlencode({k: v for k, v in typed.items() if v and k != "after"})
    return ui.render(
        "audit_log.html",
        status=422 if errors else 200,
        values=typed,
        errors=errors,
        page=page,
        more=more,
        csv_url=f"/ui/audit?{query}&csv=1" if page is not None else None,
    )


@router.get("/ui/audit/reports")
def reports_page(ui: UiDep, kind: str = "", csv: int = 0) -> Response:
    typed, given, errors = _params(ui, REPORT_FILTERS)
    typed["kind"] = kind[:40]
    found = None
    if kind and not errors:
        try:
            found = audit_reports.report(
                ui.uow,
                ui.actor,
                kind[:40],
                {**given, "format": "csv" if csv else "json"},
                audit_settings(ui.j.settings),
            )
        except DomainError as exc:
            if exc.status == 403:
                raise
            errors[exc.field or ""] = exc.to_dict()
    if found is not None and csv:
        return _csv(found)
    query = urlencode({k: v for k, v in typed.items() if v})
    return ui.render(
        "audit_reports.html",
        status=422 if errors else 200,
        kinds=[(k["kind"], k["title"]) for k in audit_reports.report_kinds()],
        values=typed,
        errors=errors,
        report=found,
        csv_url=f"/ui/audit/reports?{query}&csv=1" if found is not None else None,
    )
