"""Certificates: issuance and the issuance records are register work (clerk, supervisor); a disposal is
the supervisor's decision; `/verify` is public and outside /api/v1. The certificate settings are read by the counter
and the administrator and changed by the administrator; the 文字超過リスト is register work."""

from __future__ import annotations

from typing import Any

from juki.adapters.certificate_store import certificate_office
from juki.domain.certificate_settings import DEFAULT
from juki.policy.roles import CERTIFICATE_DISPOSE, CERTIFICATE_ISSUE, REGISTER_READ, STAFF_ADMIN
from juki.services import certificates
from tests.e2e.role_cases.common import APPROVERS, CLERK, READERS, Call, World, either, needs


def request_body(w: World) -> dict[str, Any]:
    return {
        "kind": "residence_certificate",
        "household_number": w.household,
        "include": {"householder_and_relationship": True},
        "requester": {"type": "self", "name": "山田 太郎", "addressee_number": w.family[0]},
        "purpose": "年金の手続のため",
    }


def issued(w: World) -> str:
    """A certificate the clerk issued before the call."""
    return certificates.issue(w.j.uow, CLERK, request_body(w), certificate_office()).issuance_number


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/certificates"): Call(
        READERS, 201, lambda w: ("/api/v1/certificates", request_body(w)), needs=needs(CERTIFICATE_ISSUE)
    ),
    ("GET", "/api/v1/certificates"): Call(
        READERS,
        200,
        lambda w: (f"/api/v1/certificates?addressee_number={w.family[0]}", None),
        needs=needs(REGISTER_READ),
    ),
    ("POST", "/api/v1/certificates/{issuance_number}/disposal"): Call(
        APPROVERS,
        201,
        lambda w: (f"/api/v1/certificates/{issued(w)}/disposal", {"reason": "記載誤りのため回収"}),
        needs=needs(CERTIFICATE_DISPOSE),
    ),
    ("GET", "/api/v1/certificates/settings"): Call(
        READERS | {"admin"},
        200,
        lambda w: ("/api/v1/certificates/settings", None),
        needs=either(needs(REGISTER_READ), needs(STAFF_ADMIN)),
    ),
    ("PUT", "/api/v1/certificates/settings"): Call(
        frozenset({"admin"}),
        200,
        lambda w: (
            "/api/v1/certificates/settings",
            {"settings": {**DEFAULT.as_dict(), "overflow": "blank"}, "reason": "文字溢れは空欄にする"},
        ),
        needs=needs(STAFF_ADMIN),
    ),
    ("GET", "/api/v1/certificates/overflow-list"): Call(
        READERS,
        200,
        lambda w: ("/api/v1/certificates/overflow-list?date=2025-06-30", None),
        needs=needs(REGISTER_READ),
    ),
}
