"""What every role-matrix case shares: the roles, the world a call acts on, and the shape of a case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from juki.policy.roles import Actor
from juki.services import filings
from tests import factories as f
from tests.conftest import STAFF

ROLES = ("clerk", "supervisor", "auditor", "admin", "cs_operator", "contractor", "department")
assert set(ROLES) == set(STAFF) - {"clerk2"}

READERS = frozenset({"clerk", "supervisor"})  # API.md: register reads (a contractor only under a work order)
FILERS = frozenset({"clerk", "supervisor"})
APPROVERS = frozenset({"supervisor"})
EVERYONE = frozenset(ROLES)
PUBLIC = frozenset(ROLES)  # no token needed

CLERK = Actor(STAFF["clerk"][0], STAFF["clerk"][1], "clerk", "test")
NEW_ADDRESS = "東京都小平市花小金井南町三丁目5番12号"


@dataclass
class World:
    """What each request acts on, built through the services as the clerk before the request."""

    j: Any  # the register (juki.bootstrap.Juki): a case may build what its call acts on
    household: str
    family: list[str]  # householder, wife, child, child (the last moved out)
    moved_out: str
    family_filing: str
    single_filing: str  # a move-in nobody changed since: can be cancelled
    pending: str  # an ex officio correction entered by the clerk, awaiting a supervisor
    my_number: str  # the householder's


def build_world(j) -> World:
    people = f.family_of_four()
    first = filings.file(j.uow, CLERK, "move-in", f.move_in(people))
    numbers = [c["addressee_number"] for c in first.changes]
    filings.file(
        j.uow,
        CLERK,
        "move-out",
        {
            "filed_on": "2025-06-10",
            "planned_on": "2025-06-12",
            "addressee_numbers": [numbers[3]],
            "destination": f.OTHER,
        },
    )
    single = filings.file(
        j.uow, CLERK, "move-in", f.move_in([f.person(family_name="鈴木", family_name_kana="スズキ")])
    )
    pending = filings.file(
        j.uow,
        CLERK,
        "ex-officio-correction",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-20",
            "reason": "戸籍照合により誤記を修正",
            "addressee_number": numbers[1],
            "corrections": {"given_name": "華子"},
        },
    )
    assert pending.approval_state == "pending"
    return World(
        j,
        first.household_number,
        numbers,
        numbers[3],
        first.filing_id,
        single.filing_id,
        pending.filing_id,
        people[0]["my_number"],
    )


# The exact permissions a call needs, as alternatives: the call is allowed when the actor holds every permission of
# one of them. Most calls have one alternative of one permission; `NOTHING` is for calls any signed-in account (or
# anyone, without a token) may make.
Needs = tuple[frozenset[str], ...]
NOTHING: Needs = (frozenset(),)


def needs(*permissions: str) -> Needs:
    """All of these permissions."""
    return (frozenset(permissions),)


def either(*alternatives: Needs) -> Needs:
    """Any one of these (e.g. the counter reads the certificate settings by `register:read`, the administrator by
    `staff:admin`)."""
    return tuple(a for alternative in alternatives for a in alternative)


@dataclass(frozen=True)
class Call:
    allowed: frozenset[str]
    ok_status: int
    request: Callable[[World], tuple[str, dict[str, Any] | None]]  # → (url, json body)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. the procedure: {"X-Juki-Procedure": "…"}
    needs: Needs = ()  # every endpoint says which (test_every_endpoint_names_the_permissions_it_needs)
