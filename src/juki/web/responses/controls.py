"""Answers of the controls: staff accounts, work orders, 支援措置 and alerts, bulk output and media records
(docs/api-extensions.md)."""

from __future__ import annotations

from typing import Any

from juki.web.responses import Out


class Staff(Out):
    staff_id: str
    username: str
    display_name: str
    role: str
    department: str | None
    active: bool
    locked: bool
    failed_logins: int
    valid_until: str | None


class StaffList(Out):
    staff: list[Staff]


class StaffWithPassword(Staff):
    """After a password reset: the new initial password, shown once."""

    initial_password: str


class NewStaff(StaffWithPassword):
    """A new account: its initial password and TOTP secret, shown once."""

    totp_secret: str


class WorkOrder(Out):
    order_id: str
    contractor_id: str
    procedure: str
    permissions: list[str]
    purpose: str
    valid_from: str
    valid_until: str
    issued_by: str
    revoked: bool
    active: bool


class WorkOrders(Out):
    work_orders: list[WorkOrder]


class Measure(Out):
    """A 支援措置 or hold (j410); `in_force` today, for ordinary work."""

    measure_id: str
    kind: str  # support / hold
    operations: list[str]
    level: str  # error / alert
    subject_kind: str  # person / household
    subject: str
    reason: str
    requester: str
    received_on: str
    starts_on: str
    ends_on: str
    provisional: bool
    state: str
    ended_on: str | None
    end_reason: str | None
    released_until: str | None
    version: int
    warning: str | None  # ends_within_month / expired
    in_force: bool


class Measures(Out):
    measures: list[Measure]


class Alert(Out):
    alert_id: str
    at: str
    kind: str
    subject: str | None
    staff_id: str | None
    detail: str | None
    acknowledged_by: str | None


class Alerts(Out):
    alerts: list[Alert]


class Acknowledged(Out):
    alert_id: str
    acknowledged_by: str


class BulkOutput(Out):
    output_id: str
    requested_by: str
    requested_at: str
    purpose: str
    criteria: dict[str, Any]  # as requested: town, born_from, born_to, status
    person_count: int
    state: str  # approved / pending / rejected / …
    decided_by: str | None
    comment: str | None
    sha256: str | None


class BulkOutputs(Out):
    outputs: list[BulkOutput]


class MediaRecord(Out):
    record_id: str
    recorded_at: str
    staff_id: str
    witness_id: str
    purpose: str
    medium: str
    item_count: int
    sha256: str
    output_id: str | None


class MediaRecords(Out):
    records: list[MediaRecord]


class MediaRecorded(Out):
    record_id: str
