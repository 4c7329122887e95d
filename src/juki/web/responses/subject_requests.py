"""Answers of the data-subject requests (開示・訂正・利用停止請求, docs/api-extensions.md)."""

from __future__ import annotations

from typing import Any

from juki.web.responses import Out
from juki.web.responses.register import RecordVersion, Resident


class Requester(Out):
    type: str  # self / legal_representative / agent
    name: str | None  # null when the person is hidden from the caller (支援措置)
    relationship: str | None


class IdentityCheck(Out):
    document: str  # the kind of document shown, never its number
    authority_document: str | None
    checked_by: str | None


class Extension(Out):
    days: int
    reason: str | None
    by: str | None
    at: str | None


class Decision(Out):
    outcome: str
    reason: str | None
    decided_on: str | None
    correction_filing_id: str | None
    by: str | None
    at: str | None


class Answered(Out):
    answered_on: str
    late: bool
    by: str | None
    at: str | None


class SubjectRequest(Out):
    """A request; `addressee_number`, `requester.name` and `text` are null when its person is hidden."""

    request_id: str
    kind: str  # disclosure / correction / suspension
    addressee_number: str | None
    state: str
    requester: Requester
    identity_check: IdentityCheck
    received_on: str
    initial_due_on: str
    due_on: str
    overdue: bool
    text: str | None
    include_my_number: bool
    extension: Extension | None
    decision: Decision | None
    answer: Answered | None
    created_by: str | None
    created_at: str | None
    version: int


class SubjectRequests(Out):
    requests: list[SubjectRequest]
    truncated: bool


class Viewer(Out):
    """Who looked at the person's record (the operation log), without staff ids."""

    at: str
    staff_name: str | None
    role: str | None
    department: str | None
    procedure: str | None
    action: str
    my_number_shown: bool


class Disclosure(Out):
    """The disclosure package; `my_number` in its records only when the request asked for it and it may be shown."""

    request_id: str
    addressee_number: str
    generated_at: str
    my_number_included: bool
    record: Resident
    history: list[RecordVersion]
    viewers: list[Viewer]
    provided: list[dict[str, Any]]  # each provision or transfer, as its source records it (`source` names it)
