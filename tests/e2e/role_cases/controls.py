"""Staff accounts (administrator), work orders (supervisor for システム管理), 支援措置 and alerts (supervisor for
支援措置に関する事務), bulk output and media records (clerk and supervisor for 大量出力・媒体出力)."""

from __future__ import annotations

import uuid
from typing import Any

from juki.policy.roles import (
    EXPORT_APPROVE,
    EXPORT_REQUEST,
    LOG_READ,
    MEDIA_RECORD,
    PROTECTION_END,
    PROTECTION_RELEASE,
    PROTECTION_SET,
    PROTECTION_VIEW,
    STAFF_ADMIN,
    WORK_ORDER_MANAGE,
    Actor,
)
from juki.services import auth, bulk_output, protection, register_queries, staff_admin
from tests.conftest import PASSWORD, STAFF
from tests.e2e.role_cases.common import NOTHING, Call, World, either, needs

ADMINS = frozenset({"admin"})
SUPERVISORS = frozenset({"supervisor"})
CLERK_ONLY = frozenset({"clerk"})
EXPORTERS = frozenset({"clerk", "supervisor"})

ADMINISTRATION = {"X-Juki-Procedure": "administration"}
PROTECTION = {"X-Juki-Procedure": "protection"}
BULK = {"X-Juki-Procedure": "bulk_output"}

SUPERVISOR_PROTECTION = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")  # fmt: skip
CLERK_BULK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test", procedure="bulk_output")


def _new_account(w: World) -> str:
    username = f"tmp{uuid.uuid4().hex[:8]}"
    auth.create_staff(w.j.uow, username, "臨時 職員", "clerk", PASSWORD)
    return username


def _contractor_order(w: World) -> dict[str, Any]:
    return {
        "contractor_id": STAFF["contractor"][0],
        "procedure": "resident_record",
        "permissions": ["register:read"],
        "purpose": "住民票データ移行作業",
        "valid_from": "2025-06-01T00:00:00+09:00",
        "valid_until": "2025-07-01T00:00:00+09:00",
    }


def _given_order(w: World) -> str:
    boss = Actor(
        STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="administration"
    )
    return str(staff_admin.give_work_order(w.j.uow, boss, _contractor_order(w))["order_id"])


def _measure_body(w: World) -> dict[str, Any]:
    return {
        "subject_kind": "person",
        "subject": w.family[1],
        "reason": "DV被害の申出",
        "requester": "本人",
        "received_on": "2025-06-20",
        "starts_on": "2025-06-20",
    }


def _measure(w: World) -> str:
    return str(protection.set_measure(w.j.uow, SUPERVISOR_PROTECTION, _measure_body(w))["measure_id"])


def _expiring_measure(w: World) -> str:
    body = {**_measure_body(w), "starts_on": "2024-07-10", "received_on": "2024-07-01"}
    return str(protection.set_measure(w.j.uow, SUPERVISOR_PROTECTION, body)["measure_id"])


def _alert(w: World) -> str:
    _measure(w)
    register_queries.get_resident(w.j.uow, SUPERVISOR_PROTECTION, w.family[1])  # an access: an alert
    return str(protection.list_alerts(w.j.uow, SUPERVISOR_PROTECTION)["alerts"][-1]["alert_id"])


def _output(w: World, threshold: int) -> str:
    body = {"purpose": "選挙人名簿の照合", "criteria": {"status": "active"}}
    return str(bulk_output.request(w.j.uow, CLERK_BULK, body, threshold)["output_id"])


CALLS: dict[tuple[str, str], Call] = {
    # Everyone signed in changes their own password: the body is wrong on purpose (the current password is not
    # this), so an allowed call answers 401 and changes nothing; what matters here is that no role is refused.
    ("POST", "/api/v1/auth/password"): Call(
        frozenset({"clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department"}),
        401,
        lambda w: ("/api/v1/auth/password", {"current_password": "not it", "new_password": "x" * 16}),
        needs=NOTHING,
    ),
    ("GET", "/api/v1/staff"): Call(ADMINS, 200, lambda w: ("/api/v1/staff", None), needs=needs(STAFF_ADMIN)),
    ("POST", "/api/v1/staff"): Call(
        ADMINS,
        201,
        lambda w: (
            "/api/v1/staff",
            {"username": f"new{uuid.uuid4().hex[:8]}", "display_name": "新人 職員", "role": "clerk"},
        ),
        needs=needs(STAFF_ADMIN),
    ),
    ("POST", "/api/v1/staff/{staff_id}/unlock"): Call(
        ADMINS, 200, lambda w: (f"/api/v1/staff/{_new_account(w)}/unlock", None), needs=needs(STAFF_ADMIN)
    ),
    ("POST", "/api/v1/staff/{staff_id}/reset-password"): Call(
        ADMINS,
        200,
        lambda w: (f"/api/v1/staff/{_new_account(w)}/reset-password", None),
        needs=needs(STAFF_ADMIN),
    ),
    ("POST", "/api/v1/staff/{staff_id}/disable"): Call(
        ADMINS, 200, lambda w: (f"/api/v1/staff/{_new_account(w)}/disable", None), needs=needs(STAFF_ADMIN)
    ),
    ("GET", "/api/v1/work-orders"): Call(
        SUPERVISORS,
        200,
        lambda w: ("/api/v1/work-orders", None),
        ADMINISTRATION,
        needs=needs(WORK_ORDER_MANAGE),
    ),
    ("POST", "/api/v1/work-orders"): Call(
        SUPERVISORS,
        201,
        lambda w: ("/api/v1/work-orders", _contractor_order(w)),
        ADMINISTRATION,
        needs=needs(WORK_ORDER_MANAGE),
    ),
    ("POST", "/api/v1/work-orders/{order_id}/revoke"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/work-orders/{_given_order(w)}/revoke", None),
        ADMINISTRATION,
        needs=needs(WORK_ORDER_MANAGE),
    ),
    ("GET", "/api/v1/protection-measures"): Call(
        SUPERVISORS,
        200,
        lambda w: ("/api/v1/protection-measures", None),
        PROTECTION,
        needs=needs(PROTECTION_VIEW),
    ),
    ("POST", "/api/v1/protection-measures"): Call(
        SUPERVISORS,
        201,
        lambda w: ("/api/v1/protection-measures", _measure_body(w)),
        PROTECTION,
        needs=needs(PROTECTION_SET),
    ),
    ("GET", "/api/v1/protection-measures/{measure_id}"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/protection-measures/{_measure(w)}", None),
        PROTECTION,
        needs=needs(PROTECTION_VIEW),
    ),
    ("POST", "/api/v1/protection-measures/{measure_id}/extend"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/protection-measures/{_expiring_measure(w)}/extend", None),
        PROTECTION,
        needs=needs(PROTECTION_SET),
    ),
    ("POST", "/api/v1/protection-measures/{measure_id}/confirm"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/protection-measures/{_measure(w)}/confirm", None),
        PROTECTION,
        needs=needs(PROTECTION_SET),
    ),
    ("POST", "/api/v1/protection-measures/{measure_id}/end"): Call(
        SUPERVISORS,
        200,
        lambda w: (
            f"/api/v1/protection-measures/{_measure(w)}/end",
            {"end_reason": "request", "ended_on": "2025-06-25"},
        ),
        PROTECTION,
        needs=needs(PROTECTION_END),
    ),
    ("POST", "/api/v1/protection-measures/{measure_id}/release"): Call(
        SUPERVISORS,
        200,
        lambda w: (
            f"/api/v1/protection-measures/{_measure(w)}/release",
            {"minutes": 30, "reason": "本人からの転居届の受付"},
        ),
        PROTECTION,
        needs=needs(PROTECTION_RELEASE),
    ),
    ("GET", "/api/v1/alerts"): Call(
        SUPERVISORS, 200, lambda w: ("/api/v1/alerts", None), PROTECTION, needs=needs(PROTECTION_VIEW)
    ),
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/alerts/{_alert(w)}/acknowledge", None),
        PROTECTION,
        needs=needs(PROTECTION_VIEW),
    ),
    ("GET", "/api/v1/bulk-outputs"): Call(
        EXPORTERS, 200, lambda w: ("/api/v1/bulk-outputs", None), BULK, needs=needs(EXPORT_REQUEST)
    ),
    ("POST", "/api/v1/bulk-outputs"): Call(
        EXPORTERS,
        201,
        lambda w: ("/api/v1/bulk-outputs", {"purpose": "統計資料の作成", "criteria": {"town": "小川町"}}),
        BULK,
        needs=needs(EXPORT_REQUEST),
    ),
    ("POST", "/api/v1/bulk-outputs/{output_id}/approve"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/bulk-outputs/{_output(w, 0)}/approve", None),
        BULK,
        needs=needs(EXPORT_APPROVE),
    ),
    ("POST", "/api/v1/bulk-outputs/{output_id}/reject"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/bulk-outputs/{_output(w, 0)}/reject", {"comment": "目的が不明確"}),
        BULK,
        needs=needs(EXPORT_APPROVE),
    ),
    ("GET", "/api/v1/bulk-outputs/{output_id}/file"): Call(
        CLERK_ONLY,
        200,
        lambda w: (f"/api/v1/bulk-outputs/{_output(w, 10_000)}/file", None),
        BULK,
        needs=needs(EXPORT_REQUEST),
    ),
    ("GET", "/api/v1/media-exports"): Call(
        EXPORTERS,
        200,
        lambda w: ("/api/v1/media-exports", None),
        BULK,
        needs=either(needs(MEDIA_RECORD), needs(LOG_READ)),
    ),
    ("POST", "/api/v1/media-exports"): Call(
        EXPORTERS,
        201,
        lambda w: (
            "/api/v1/media-exports",
            {
                "witness_id": STAFF["clerk2"][0],
                "purpose": "県への報告データ",
                "medium": "DVD",
                "item_count": 12,
                "sha256": "a" * 64,
            },
        ),
        BULK,
        needs=needs(MEDIA_RECORD),
    ),
}
