"""支援措置 (DV・ストーカー・虐待の被害者の保護) and the other holds (抑止, j410): the list of measures and the alerts,
for a supervisor acting for 支援措置に関する事務; setting (kind, the operations held, error or alert), extending,
confirming, ending and temporarily releasing a measure (services/protection)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.domain.errors import DomainError, Forbidden
from juki.domain.protection import SUPPORT_OPERATIONS
from juki.policy.roles import PROTECTION_END, PROTECTION_RELEASE, PROTECTION_SET
from juki.services import protection
from juki.web.ui.core import Ui, UiRoute, current, wareki
from juki.web.ui.forms import whole_number

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
END_REASONS = (("request", "本人の申出"), ("expired", "期間満了"), ("not_needed", "必要がなくなった"))


def _page(ui: Ui, subject: str = "", status: int = 200, **extra: Any) -> Response:
    try:
        measures = protection.list_measures(
            ui.uow, ui.actor, None if subject or extra.get("all") else "active"
        )
        alerts = protection.list_alerts(ui.uow, ui.actor)
    except Forbidden:
        return ui.switch_to("protection", "/ui/protection")
    shown = [m for m in measures["measures"] if not subject or m["subject"] == subject]
    return ui.render(
        "protection.html",
        status=status,
        measures=shown,
        alerts=alerts["alerts"],
        subject=subject,
        may_manage=ui.may(PROTECTION_SET),
        may_end=ui.may(PROTECTION_END),
        may_release=ui.may(PROTECTION_RELEASE),
        end_reasons=END_REASONS,
        **extra,
    )


@router.get("/ui/protection")
def measures_page(ui: UiDep, subject: str = "", all: int = 0) -> Response:
    values = {
        "starts_on": wareki(ui.today()),
        "kind": "support",
        "operations": list(SUPPORT_OPERATIONS),
        "level": "error",
    }
    return _page(ui, subject[:20], all=bool(all), values=values)


@router.post("/ui/protection")
def set_measure(ui: UiDep) -> Response:
    values: dict[str, Any] = {k: v for k, v in ui.form.items() if isinstance(v, str)}
    payload: dict[str, Any] = {k: v.strip() for k, v in values.items() if v.strip()}
    payload["provisional"] = "provisional" in payload
    operations = [op for op in ui.form.get("operations") or [] if isinstance(op, str) and op]
    values["operations"] = operations
    if operations:  # none checked: a 支援措置 holds certificates and views; a hold must name its operations
        payload["operations"] = operations
    try:
        measure = protection.set_measure(ui.uow, ui.actor, payload)
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _page(ui, status=422, values=values, errors={exc.field or "": exc.to_dict()})
    return ui.redirect(f"/ui/protection?subject={measure['subject']}&done=set")


@router.post("/ui/protection/{measure_id}/{action}")
def change_measure(measure_id: str, action: str, ui: UiDep) -> Response:
    form = {k: v for k, v in ui.form.items() if isinstance(v, str)}
    number = measure_id[:40]
    try:
        if action == "extend":
            measure = protection.extend(ui.uow, ui.actor, number)
        elif action == "confirm":
            measure = protection.confirm(ui.uow, ui.actor, number)
        elif action == "end":
            measure = protection.end(ui.uow, ui.actor, number, form)
        elif action == "release":
            minutes = form.get("minutes", "").strip()
            payload = {
                "reason": form.get("reason", ""),
                "minutes": whole_number(minutes) or minutes,
            }
            measure = protection.release(ui.uow, ui.actor, number, payload)
        else:
            raise Forbidden("この操作はありません")
    except DomainError as exc:
        if exc.status == 403:
            raise
        return _page(ui, status=422, errors={f"{number}.{exc.field}": exc.to_dict()}, failed=number)
    return ui.redirect(f"/ui/protection?subject={measure['subject']}&done={action}")


@router.post("/ui/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: str, ui: UiDep) -> Response:
    protection.acknowledge_alert(ui.uow, ui.actor, alert_id[:40])
    return ui.redirect("/ui/protection")
