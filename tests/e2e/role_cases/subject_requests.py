"""開示・訂正・利用停止請求 (procedure `subject_request`): clerk and supervisor record and read requests; the
supervisor alone extends, decides, answers and builds the disclosure package. Every other role has no part in the
procedure and is refused when it enters it."""

from __future__ import annotations

from typing import Any

from juki.policy.roles import SUBJECT_REQUEST_DECIDE, SUBJECT_REQUEST_FILE, Actor
from juki.services import subject_requests
from tests.conftest import STAFF
from tests.e2e.role_cases.common import APPROVERS, FILERS, Call, World, needs

PROCEDURE = {"X-Juki-Procedure": "subject_request"}
URL = "/api/v1/subject-requests"
SUPERVISOR = Actor(
    STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="subject_request"
)


def _body(w: World) -> dict[str, Any]:
    return {
        "kind": "disclosure",
        "addressee_number": w.family[0],
        "requester": {"type": "self", "name": "山田 太郎"},
        "identity_check": {"document": "driver_license"},
        "received_on": "2025-06-20",
        "text": "私の記録の開示を求めます。",
    }


def _request(w: World, decided: bool = False) -> str:
    """A request made through the service before the call (and decided, for the answer)."""
    made = subject_requests.create(w.j.uow, SUPERVISOR, _body(w))
    if decided:
        subject_requests.decide(w.j.uow, SUPERVISOR, made["request_id"], {"decision": "disclose"})
    request_id: str = made["request_id"]
    return request_id


CALLS: dict[tuple[str, str], Call] = {
    ("POST", URL): Call(
        FILERS, 201, lambda w: (URL, _body(w)), headers=PROCEDURE, needs=needs(SUBJECT_REQUEST_FILE)
    ),
    ("GET", URL): Call(
        FILERS,
        200,
        lambda w: (f"{URL}?overdue=true", None),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_FILE),
    ),
    ("GET", URL + "/{request_id}"): Call(
        FILERS,
        200,
        lambda w: (f"{URL}/{_request(w)}", None),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_FILE),
    ),
    ("POST", URL + "/{request_id}/extend"): Call(
        APPROVERS,
        200,
        lambda w: (f"{URL}/{_request(w)}/extend", {"reason": "対象の記録が大量であるため"}),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_DECIDE),
    ),
    ("POST", URL + "/{request_id}/decide"): Call(
        APPROVERS,
        200,
        lambda w: (f"{URL}/{_request(w)}/decide", {"decision": "partial", "reason": "第三者の情報を除く"}),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_DECIDE),
    ),
    ("POST", URL + "/{request_id}/answer"): Call(
        APPROVERS,
        200,
        lambda w: (f"{URL}/{_request(w, decided=True)}/answer", {"answered_on": "2025-06-30"}),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_DECIDE),
    ),
    ("GET", URL + "/{request_id}/disclosure"): Call(
        APPROVERS,
        200,
        lambda w: (f"{URL}/{_request(w)}/disclosure", None),
        headers=PROCEDURE,
        needs=needs(SUBJECT_REQUEST_DECIDE),
    ),
}
