"""/api/v1: staff accounts, work orders, 支援措置, alerts, bulk output and media records. Thin routes;
the services check permissions and log."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field, StrictBool, StrictInt, StrictStr

from juki.services import auth, bulk_output, protection, staff_admin
from juki.web.api import ActorDep, JukiDep
from juki.web.responses import CSV, NO_CONTENT, PROBLEMS
from juki.web.responses import controls as answers
from juki.web.schemas import Body, Text

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)
Short = Field(default=None, max_length=500)


# --- staff accounts (administrator) ------------------------------------------------------------------------------


class StaffBody(Body):
    username: Text = Field(max_length=40)
    display_name: Text = Field(max_length=100)
    role: Text = Field(max_length=20)
    department: Text | None = Short
    valid_until: Text | None = Field(default=None, max_length=40)


@router.get("/staff", tags=["staff"], response_model=answers.StaffList)
def list_staff(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.list_staff(j.uow, actor)


@router.post("/staff", status_code=201, tags=["staff"], response_model=answers.NewStaff)
def create_staff(body: StaffBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.create(j.uow, actor, body.model_dump(exclude_none=True))


@router.post("/staff/{staff_id}/unlock", tags=["staff"], response_model=answers.Staff)
def unlock_staff(staff_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.unlock(j.uow, actor, staff_id[:40])


@router.post("/staff/{staff_id}/reset-password", tags=["staff"], response_model=answers.StaffWithPassword)
def reset_password(staff_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.reset_password(j.uow, actor, staff_id[:40])


class PasswordBody(Body):
    current_password: StrictStr = Field(max_length=1000)
    new_password: StrictStr = Field(max_length=1000)


@router.post("/auth/password", status_code=204, tags=["auth"], responses={204: NO_CONTENT})
def change_password(body: PasswordBody, j: JukiDep, actor: ActorDep) -> Response:
    auth.change_password(j.uow, actor, body.current_password, body.new_password, j.settings.max_failed_logins)
    return Response(status_code=204)


@router.post("/staff/{staff_id}/disable", tags=["staff"], response_model=answers.Staff)
def disable_staff(staff_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.disable(j.uow, actor, staff_id[:40])


# --- work orders (supervisor, acting for システム管理) ---------------------------------------------------------------


class WorkOrderBody(Body):
    contractor_id: Text = Field(max_length=40)
    procedure: Text = Field(max_length=40)
    permissions: list[Text] = Field(max_length=20)
    purpose: Text = Field(max_length=500)
    valid_from: Text = Field(max_length=40)
    valid_until: Text = Field(max_length=40)


@router.get("/work-orders", tags=["work orders"], response_model=answers.WorkOrders)
def list_work_orders(
    j: JukiDep, actor: ActorDep, contractor_id: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, Any]:
    return staff_admin.list_work_orders(j.uow, actor, contractor_id)


@router.post("/work-orders", status_code=201, tags=["work orders"], response_model=answers.WorkOrder)
def give_work_order(body: WorkOrderBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.give_work_order(j.uow, actor, body.model_dump())


@router.post("/work-orders/{order_id}/revoke", tags=["work orders"], response_model=answers.WorkOrder)
def revoke_work_order(order_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return staff_admin.revoke_work_order(j.uow, actor, order_id[:40])


# --- 支援措置 (supervisor, acting for 支援措置に関する事務) ---------------------------------------------------------------


class MeasureBody(Body):
    subject_kind: Text = Field(max_length=10)
    subject: Text = Field(max_length=20)
    reason: Text = Field(max_length=500)
    requester: Text = Field(max_length=200)
    received_on: Text = Field(max_length=40)
    starts_on: Text = Field(max_length=40)
    ends_on: Text | None = Field(default=None, max_length=40)
    provisional: StrictBool = False
    kind: Text = Field(default="support", max_length=10)  # support (支援措置) / hold (その他の抑止, j410)
    operations: list[Text] | None = Field(default=None, max_length=3)  # filing / certificate / view
    level: Text = Field(default="error", max_length=10)  # error blocks / alert warns


class EndBody(Body):
    end_reason: Text = Field(max_length=20)
    ended_on: Text = Field(max_length=40)


class ReleaseBody(Body):
    minutes: StrictInt
    reason: Text = Field(max_length=500)


@router.get("/protection-measures", tags=["protection"], response_model=answers.Measures)
def list_measures(
    j: JukiDep, actor: ActorDep, state: Annotated[str | None, Query(max_length=10)] = None
) -> dict[str, Any]:
    return protection.list_measures(j.uow, actor, state)


@router.post("/protection-measures", status_code=201, tags=["protection"], response_model=answers.Measure)
def set_measure(body: MeasureBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.set_measure(j.uow, actor, body.model_dump(exclude_none=True))


@router.get("/protection-measures/{measure_id}", tags=["protection"], response_model=answers.Measure)
def get_measure(measure_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.get_measure(j.uow, actor, measure_id[:40])


@router.post("/protection-measures/{measure_id}/extend", tags=["protection"], response_model=answers.Measure)
def extend_measure(measure_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.extend(j.uow, actor, measure_id[:40])


@router.post("/protection-measures/{measure_id}/confirm", tags=["protection"], response_model=answers.Measure)
def confirm_measure(measure_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.confirm(j.uow, actor, measure_id[:40])


@router.post("/protection-measures/{measure_id}/end", tags=["protection"], response_model=answers.Measure)
def end_measure(measure_id: str, body: EndBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.end(j.uow, actor, measure_id[:40], body.model_dump())


@router.post("/protection-measures/{measure_id}/release", tags=["protection"], response_model=answers.Measure)
def release_measure(measure_id: str, body: ReleaseBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.release(j.uow, actor, measure_id[:40], body.model_dump())


@router.get("/alerts", tags=["protection"], response_model=answers.Alerts)
def list_alerts(
    j: JukiDep, actor: ActorDep, include_acknowledged: Annotated[bool, Query(alias="all")] = False
) -> dict[str, Any]:
    return protection.list_alerts(j.uow, actor, open_only=not include_acknowledged)


@router.post("/alerts/{alert_id}/acknowledge", tags=["protection"], response_model=answers.Acknowledged)
def acknowledge_alert(alert_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return protection.acknowledge_alert(j.uow, actor, alert_id[:40])


# --- bulk output and media records (acting for 大量出力・媒体出力) ---------------------------------------------------


class CriteriaBody(Body):
    town: Text | None = Field(default=None, max_length=40)
    born_from: Text | None = Field(default=None, max_length=40)
    born_to: Text | None = Field(default=None, max_length=40)
    status: Text = Field(default="active", max_length=10)


class OutputBody(Body):
    purpose: Text = Field(max_length=500)
    criteria: CriteriaBody


class DecisionBody(Body):
    comment: Text | None = Short


class MediaBody(Body):
    witness_id: Text = Field(max_length=40)
    purpose: Text = Field(max_length=500)
    medium: Text = Field(max_length=40)
    item_count: StrictInt
    sha256: Text = Field(max_length=64)
    output_id: Text | None = Field(default=None, max_length=40)


@router.get("/bulk-outputs", tags=["bulk output"], response_model=answers.BulkOutputs)
def list_outputs(
    j: JukiDep, actor: ActorDep, state: Annotated[str | None, Query(max_length=10)] = None
) -> dict[str, Any]:
    return bulk_output.list_outputs(j.uow, actor, state)


@router.post("/bulk-outputs", status_code=201, tags=["bulk output"], response_model=answers.BulkOutput)
def request_output(body: OutputBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    payload = {"purpose": body.purpose, "criteria": body.criteria.model_dump(exclude_none=True)}
    return bulk_output.request(j.uow, actor, payload, j.settings.bulk_output_threshold)


@router.post("/bulk-outputs/{output_id}/approve", tags=["bulk output"], response_model=answers.BulkOutput)
def approve_output(output_id: str, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return bulk_output.decide(j.uow, actor, output_id[:40], approve=True)


@router.post("/bulk-outputs/{output_id}/reject", tags=["bulk output"], response_model=answers.BulkOutput)
def reject_output(output_id: str, body: DecisionBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return bulk_output.decide(j.uow, actor, output_id[:40], approve=False, comment=body.comment or "")


@router.get(
    "/bulk-outputs/{output_id}/file",
    tags=["bulk output"],
    response_class=Response,
    responses={200: {**CSV, "description": "the CSV (UTF-8 with BOM), once, for the requester"}},
)
def run_output(output_id: str, j: JukiDep, actor: ActorDep) -> Response:
    out = bulk_output.run(j.uow, actor, output_id[:40])
    return Response(
        out.content,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{out.filename}"',
            "X-Content-SHA256": out.sha256,
        },
    )


@router.get("/media-exports", tags=["bulk output"], response_model=answers.MediaRecords)
def list_media(j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return bulk_output.list_media(j.uow, actor)


@router.post("/media-exports", status_code=201, tags=["bulk output"], response_model=answers.MediaRecorded)
def record_media(body: MediaBody, j: JukiDep, actor: ActorDep) -> dict[str, Any]:
    return bulk_output.record_media(j.uow, actor, body.model_dump(exclude_none=True))
