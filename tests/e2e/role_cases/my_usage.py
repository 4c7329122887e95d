"""自己情報 (やりとり履歴): the resident's history is a resident's, signed in with their card — no staff account may read
it, whatever its role (a staff token → 403 forbidden, the denial of `my_usage:read` logged; the resident's own calls
are tests/e2e/test_my_usage.py's). The entries withheld from it are a supervisor's to list, release early and extend,
acting for 自己情報の確認 (or 支援措置, for a case's entries): `my_usage:withhold`.

A release or an extension needs an entry withheld by rule: the request first has the clerk read the householder's
record for a 捜査関係事項照会 (withheld as an investigation, domain/my_usage.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from juki.adapters import tables as t
from juki.policy.roles import MY_USAGE_READ, MY_USAGE_WITHHOLD, Actor
from juki.services import register_queries
from tests.conftest import STAFF
from tests.e2e.role_cases.common import Call, World, needs

NOBODY: frozenset[str] = frozenset()
SUPERVISOR = frozenset({"supervisor"})
MY_USAGE = {"X-Juki-Procedure": "my_usage"}
INQUIRY = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test", procedure="investigation_inquiry")


def withheld_entry(w: World) -> str:
    """A new entry withheld by rule from the householder's history: its key."""
    register_queries.get_resident(w.j.uow, INQUIRY, w.family[0])
    with w.j.engine.connect() as conn:
        seq = conn.execute(select(func.max(t.operation_log.c.seq))).scalar_one()
    return f"log-{seq}"


def decision(w: World, **extra: str) -> dict[str, Any]:
    return {"addressee_number": w.family[0], "entry": withheld_entry(w), "reason": "捜査終了の連絡", **extra}


CALLS = {
    ("GET", "/api/v1/my/usage"): Call(
        NOBODY, 200, lambda w: ("/api/v1/my/usage", None), needs=needs(MY_USAGE_READ)
    ),
    ("GET", "/api/v1/usage-withholdings"): Call(
        SUPERVISOR,
        200,
        lambda w: (f"/api/v1/usage-withholdings?addressee_number={w.family[0]}", None),
        headers=MY_USAGE,
        needs=needs(MY_USAGE_WITHHOLD),
    ),
    ("POST", "/api/v1/usage-withholdings/release"): Call(
        SUPERVISOR,
        200,
        lambda w: ("/api/v1/usage-withholdings/release", decision(w)),
        headers=MY_USAGE,
        needs=needs(MY_USAGE_WITHHOLD),
    ),
    ("POST", "/api/v1/usage-withholdings/extend"): Call(
        SUPERVISOR,
        200,
        lambda w: ("/api/v1/usage-withholdings/extend", decision(w, until="2026-03-31")),
        headers=MY_USAGE,
        needs=needs(MY_USAGE_WITHHOLD),
    ),
}
