"""Register endpoints (API.md): reads for clerk and supervisor, filings by both, decisions by the supervisor."""

from __future__ import annotations

from typing import Any

from juki.policy.roles import MY_NUMBER_SEARCH, REGISTER_APPROVE, REGISTER_FILE, REGISTER_READ
from tests import factories as f
from tests.e2e.role_cases.common import (
    APPROVERS,
    EVERYONE,
    FILERS,
    NEW_ADDRESS,
    NOTHING,
    PUBLIC,
    READERS,
    Call,
    needs,
)


def _new_child() -> dict[str, Any]:
    child = f.person("子", given_name="蓮", given_name_kana="レン", birth_date="2025-06-10")
    child.pop("my_number")
    return child


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/auth/login"): Call(PUBLIC, 200, lambda w: ("/api/v1/auth/login", None), needs=NOTHING),
    ("POST", "/api/v1/auth/logout"): Call(
        EVERYONE, 204, lambda w: ("/api/v1/auth/logout", None), needs=NOTHING
    ),
    # filings (届出)
    ("POST", "/api/v1/filings/move-in"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/move-in",
            f.move_in([f.person(family_name="佐藤", family_name_kana="サトウ")]),
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/move-within"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/move-within",
            {
                "filed_on": "2025-06-20",
                "changed_on": "2025-06-15",
                "household_number": w.household,
                "addressee_numbers": w.family[:3],
                "address": {"address": NEW_ADDRESS},
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/move-out"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/move-out",
            {
                "filed_on": "2025-06-20",
                "planned_on": "2025-06-25",
                "addressee_numbers": [w.family[2]],
                "destination": f.OTHER,
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/birth"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/birth",
            {
                "filed_on": "2025-06-12",
                "birth_date": "2025-06-10",
                "household_number": w.household,
                "person": _new_child(),
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/death"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/death",
            {"filed_on": "2025-06-20", "died_on": "2025-06-18", "addressee_number": w.family[2]},
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/household-change"): Call(
        FILERS,
        201,
        lambda w: (
            "/api/v1/filings/household-change",
            {
                "filed_on": "2025-06-20",
                "changed_on": "2025-06-20",
                "type": "householder_change",
                "household_number": w.household,
                "new_householder": w.family[1],
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/ex-officio-entry"): Call(
        FILERS,
        202,
        lambda w: (
            "/api/v1/filings/ex-officio-entry",
            {
                "filed_on": "2025-06-20",
                "changed_on": "2025-06-20",
                "reason": "居住の事実を確認",
                "address": {"address": NEW_ADDRESS},
                "household": {"new": True},
                "persons": [f.person(family_name="高橋", family_name_kana="タカハシ")],
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/ex-officio-correction"): Call(
        FILERS,
        202,
        lambda w: (
            "/api/v1/filings/ex-officio-correction",
            {
                "filed_on": "2025-06-20",
                "changed_on": "2025-06-20",
                "reason": "誤記を修正",
                "addressee_number": w.family[0],
                "corrections": {"given_name": "太朗"},
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/ex-officio-removal"): Call(
        FILERS,
        202,
        lambda w: (
            "/api/v1/filings/ex-officio-removal",
            {
                "filed_on": "2025-06-20",
                "changed_on": "2025-06-20",
                "reason": "居住実態なし",
                "addressee_numbers": [w.family[2]],
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/filings/ex-officio-restoration"): Call(
        FILERS,
        202,
        lambda w: (
            "/api/v1/filings/ex-officio-restoration",
            {
                "filed_on": "2025-06-25",
                "changed_on": "2025-06-25",
                "reason": "誤って消除したため回復",
                "addressee_number": w.moved_out,
            },
        ),
        needs=needs(REGISTER_FILE),
    ),
    # the filings themselves, approvals and cancellation
    ("GET", "/api/v1/filings"): Call(
        READERS, 200, lambda w: ("/api/v1/filings?late=false", None), needs=needs(REGISTER_READ)
    ),
    ("GET", "/api/v1/filings/{filing_id}"): Call(
        READERS, 200, lambda w: (f"/api/v1/filings/{w.family_filing}", None), needs=needs(REGISTER_READ)
    ),
    ("POST", "/api/v1/filings/{filing_id}/cancel"): Call(
        APPROVERS,
        201,
        lambda w: (
            f"/api/v1/filings/{w.single_filing}/cancel",
            {"filed_on": "2025-06-21", "reason": "届出人の申出により取消し"},
        ),
        needs=needs(REGISTER_APPROVE),
    ),
    # The approval queue is a filtered view of the filings (GET /filings?approval_state=pending shows the same),
    # so reading it is a register read; deciding is the supervisor's.
    ("GET", "/api/v1/approvals"): Call(
        READERS, 200, lambda w: ("/api/v1/approvals", None), needs=needs(REGISTER_READ)
    ),
    ("POST", "/api/v1/approvals/{filing_id}/approve"): Call(
        APPROVERS,
        201,
        lambda w: (f"/api/v1/approvals/{w.pending}/approve", None),
        needs=needs(REGISTER_APPROVE),
    ),
    ("POST", "/api/v1/approvals/{filing_id}/return"): Call(
        APPROVERS,
        200,
        lambda w: (f"/api/v1/approvals/{w.pending}/return", {"comment": "根拠資料を添付してください"}),
        needs=needs(REGISTER_APPROVE),
    ),
    # the register
    ("GET", "/api/v1/residents"): Call(
        READERS,
        200,
        lambda w: ("/api/v1/residents?name=山田&birth_date=1980-04-01", None),
        needs=needs(REGISTER_READ),
    ),
    # The exact look-up by My Number: a search, by those who may search by number (the number never in a URL).
    ("POST", "/api/v1/residents/lookup"): Call(
        READERS,
        200,
        lambda w: ("/api/v1/residents/lookup", {"my_number": w.my_number}),
        needs=needs(REGISTER_READ, MY_NUMBER_SEARCH),
    ),
    ("GET", "/api/v1/residents/{addressee_number}"): Call(
        READERS, 200, lambda w: (f"/api/v1/residents/{w.family[0]}", None), needs=needs(REGISTER_READ)
    ),
    ("GET", "/api/v1/residents/{addressee_number}/history"): Call(
        READERS, 200, lambda w: (f"/api/v1/residents/{w.family[0]}/history", None), needs=needs(REGISTER_READ)
    ),
    ("GET", "/api/v1/residents/{addressee_number}/move-out-certificate"): Call(
        READERS,
        200,
        lambda w: (f"/api/v1/residents/{w.moved_out}/move-out-certificate", None),
        needs=needs(REGISTER_READ),
    ),
    ("GET", "/api/v1/households/{household_number}"): Call(
        READERS, 200, lambda w: (f"/api/v1/households/{w.household}", None), needs=needs(REGISTER_READ)
    ),
    # 記載順位の変更 (j1010) is a change to the register like a filing: for those who file. The order asked for
    # (householder, child, wife) differs from the stored one, so an allowed call writes and a denied one must not.
    ("POST", "/api/v1/households/{household_number}/member-order"): Call(
        FILERS,
        200,
        lambda w: (
            f"/api/v1/households/{w.household}/member-order",
            {"mode": "manual", "addressee_numbers": [w.family[0], w.family[2], w.family[1]]},
        ),
        needs=needs(REGISTER_FILE),
    ),
}
