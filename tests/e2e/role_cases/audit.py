"""The auditor's log search and reports: the auditor alone; everyone else gets 403 and a log entry."""

from __future__ import annotations

from juki.policy.roles import LOG_READ
from tests.e2e.role_cases.common import Call, needs

AUDITORS = frozenset({"auditor"})

CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/api/v1/audit/log"): Call(
        AUDITORS,
        200,
        lambda w: (f"/api/v1/audit/log?target={w.family[0]}&limit=50", None),
        needs=needs(LOG_READ),
    ),
    ("GET", "/api/v1/audit/reports/{kind}"): Call(
        AUDITORS,
        200,
        lambda w: ("/api/v1/audit/reports/unrelated_lookups?from=2025-06-01&to=2025-06-30&format=csv", None),
        needs=needs(LOG_READ),
    ),
    ("GET", "/api/v1/audit/verify"): Call(
        AUDITORS, 200, lambda w: ("/api/v1/audit/verify", None), needs=needs(LOG_READ)
    ),
}
