"""The numbers at the counter (services/numbers.py): 住民票コード変更・記載 and 個人番号の変更請求 by the filers, the
通知票 by those who issue certificates, the waiting list and the stock by the readers."""

from __future__ import annotations

from typing import Any

from juki.policy.roles import CERTIFICATE_ISSUE, REGISTER_FILE, REGISTER_NUMBERS, REGISTER_READ
from juki.services import filings
from tests import factories as f
from tests.e2e.role_cases.common import CLERK, FILERS, READERS, Call, World, either, needs


def _code_change(w: World) -> tuple[str, dict[str, Any]]:
    return "/api/v1/filings/resident-code-change", {"addressee_number": w.family[0]}


def _code_entry(w: World) -> tuple[str, dict[str, Any]]:
    """A person who came without a code (a 転入 may bring none) gets one."""
    person = {
        k: v
        for k, v in f.person(family_name="高橋", family_name_kana="タカハシ").items()
        if k != "resident_code"
    }
    done = filings.file(w.j.uow, CLERK, "move-in", f.move_in([person]))
    return "/api/v1/filings/resident-code-entry", {"addressee_number": done.changes[0]["addressee_number"]}


def _notice(w: World) -> tuple[str, None]:
    return f"/api/v1/residents/{w.family[0]}/resident-code-notice", None


def _change_request(w: World) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/residents/{w.family[0]}/my-number-change-requests", {
        "reason": "通知カードの紛失による漏えいのおそれ"
    }


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/filings/resident-code-change"): Call(
        FILERS, 201, _code_change, needs=needs(REGISTER_FILE)
    ),
    ("POST", "/api/v1/filings/resident-code-entry"): Call(
        FILERS, 201, _code_entry, needs=needs(REGISTER_FILE)
    ),
    ("GET", "/api/v1/residents/{addressee_number}/resident-code-notice"): Call(
        FILERS, 200, _notice, needs=needs(CERTIFICATE_ISSUE)
    ),
    ("POST", "/api/v1/residents/{addressee_number}/my-number-change-requests"): Call(
        FILERS, 201, _change_request, needs=needs(REGISTER_FILE)
    ),
    ("GET", "/api/v1/my-number-requests"): Call(
        READERS, 200, lambda w: ("/api/v1/my-number-requests", None), needs=needs(REGISTER_READ)
    ),
    ("GET", "/api/v1/resident-code-stock"): Call(
        READERS,
        200,
        lambda w: ("/api/v1/resident-code-stock", None),
        needs=either(needs(REGISTER_READ), needs(REGISTER_NUMBERS)),
    ),
}
