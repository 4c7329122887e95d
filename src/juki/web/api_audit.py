"""/api/v1: The auditor's operation-log views and reports. Thin routes; the services check permissions.

Every view answers JSON, or CSV (UTF-8 with BOM, Japanese headers) with `?format=csv`. Parameters are plain
text here and parsed by the service after the permission check (a refused caller learns nothing from a 422).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from juki.config import Settings
from juki.services import audit_queries, audit_reports
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import CSV, PROBLEMS
from juki.web.responses import audit as answers

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)

Param = Annotated[str | None, Query(max_length=100)]


def audit_settings(s: Settings) -> audit_reports.AuditSettings:
    return audit_reports.AuditSettings.parse(
        s.audit_business_start,
        s.audit_business_end,
        window_minutes=s.audit_mass_window_minutes,
        mass_searches=s.audit_mass_searches,
        mass_persons=s.audit_mass_persons,
        large_search_results=s.audit_large_search_results,
        related_days=s.audit_related_days,
        max_rows=s.audit_report_max_rows,
    )


def _given(**params: str | None) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


def _csv(report: audit_reports.Report, headers: dict[str, str] | None = None) -> Response:
    return Response(
        audit_reports.csv_bytes(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"', **(headers or {})},
    )


@router.get(
    "/audit/log",
    tags=["audit"],
    response_model=answers.LogPage,
    responses={200: {**CSV, "description": "a page of entries; with `format=csv`, header X-Juki-Next"}},
)
def search_log(
    j: JukiDep,
    actor: ActorDep,
    from_: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    to: Annotated[str | None, Query(max_length=20)] = None,
    staff_id: Param = None,
    action: Param = None,
    target: Param = None,
    result: Param = None,
    terminal: Param = None,
    my_number_shown: Param = None,
    after: Param = None,
    limit: Param = None,
    format: Param = None,
) -> Any:
    params = _given(
        **{"from": from_},
        to=to,
        staff_id=staff_id,
        action=action,
        target=target,
        result=result,
        terminal=terminal,
        my_number_shown=my_number_shown,
        after=after,
        limit=limit,
        format=format,
    )
    page = audit_reports.search_log(j.uow, actor, params)
    if page.format == "csv":
        return _csv(page, {"X-Juki-Next": page.next} if page.next else None)
    return {
        "entries": page.rows,
        "next": page.next,
        "columns": [{"key": c.key, "label": c.label} for c in page.columns],
    }


@router.get(
    "/audit/reports/{kind}",
    tags=["audit"],
    response_model=answers.Report,
    responses={200: {**CSV, "description": "the report; with `format=csv`, as CSV"}},
)
def report(
    kind: str,
    j: JukiDep,
    actor: ActorDep,
    from_: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    to: Annotated[str | None, Query(max_length=20)] = None,
    staff_id: Param = None,
    format: Param = None,
    window: Param = None,
    searches: Param = None,
    persons: Param = None,
    results: Param = None,
    days: Param = None,
) -> Any:
    params = _given(
        **{"from": from_},
        to=to,
        staff_id=staff_id,
        format=format,
        window=window,
        searches=searches,
        persons=persons,
        results=results,
        days=days,
    )
    found = audit_reports.report(j.uow, actor, kind[:40], params, audit_settings(j.settings))
    return _csv(found) if found.format == "csv" else found.as_dict()


@router.get(
    "/audit/verify",
    tags=["audit"],
    response_model=answers.ChainCheck,
    response_model_exclude_unset=True,  # `code` only when broken
)
def verify(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    """Walk the operation log's hash chain: `{"intact", "entries_intact", "first_broken"}` (+ `code` when broken)."""
    return audit_queries.verify_for(j.uow, actor)
