"""送付先情報 at the counter (clerk and supervisor read and act) and the 居所 for delivery (the supervisor acting for
支援措置に関する事務). Each call acts on a record of its own: a child born into the world's family, its number
assigned as the CS would (services/numbers.assign with the mailing hook)."""

from __future__ import annotations

import itertools
import random
from typing import Any

from juki.domain.identifiers import generate_my_number
from juki.policy.roles import CS_SYSTEM, PROTECTION_SET, PROTECTION_VIEW, REGISTER_FILE, REGISTER_READ, Actor
from juki.services import filings, mailing, numbers, protection
from tests import factories as f
from tests.conftest import STAFF
from tests.e2e.role_cases.common import CLERK, FILERS, READERS, Call, World, needs

SUPERVISORS = frozenset({"supervisor"})
PROTECTION = {"X-Juki-Procedure": "protection"}
BOSS = Actor(STAFF["supervisor"][0], STAFF["supervisor"][1], "supervisor", "test", procedure="protection")
RESIDENCE = {"postal_code": "187-0001", "address": "東京都小平市大沼町一丁目1番1号"}
_rng = random.Random(1120)
_names = itertools.count(1)


def born(w: World) -> str:
    """A child born into the world's family, waiting for its number: its 宛名番号."""
    name = "".join("十一二三四五六七八九"[int(d)] for d in str(next(_names)))  # a name of its own
    child = f.person("子", given_name=f"{name}郎", given_name_kana="ロウ")
    for key in ("my_number", "resident_code", "birth_date"):
        child.pop(key)
    body = {
        "filed_on": "2025-06-12",
        "birth_date": "2025-06-10",
        "household_number": w.household,
        "person": child,
    }
    return str(filings.file(w.j.uow, CLERK, "birth", body).changes[0]["addressee_number"])


def assign(w: World, number: str) -> str:
    """J-LIS's answer for the person, as the CS hands it over with the mailing hook: the record's id."""
    [request] = [r for r in numbers.open_requests(w.j.uow, CS_SYSTEM) if r.addressee_number == number]
    answer = numbers.NumberAnswer(request.request_id, request.resident_code, generate_my_number(_rng))
    numbers.assign(w.j.uow, CS_SYSTEM, answer, on_assigned=mailing.on_assigned(w.j.settings))
    with w.j.uow() as uow:
        return uow.mailing.open_records_of(number)[-1].record_id


def protect(w: World, number: str) -> str:
    return str(protection.set_measure(w.j.uow, BOSS, f.support_measure(number))["measure_id"])


def _ready(w: World) -> str:
    return assign(w, born(w))


def _held(w: World) -> str:
    """Held for a 支援措置 without a 居所, the measure temporarily released so that the counter sees the person."""
    number = born(w)
    measure = protect(w, number)
    protection.release(w.j.uow, BOSS, measure, {"minutes": 60, "reason": "送付先の確認"})
    return assign(w, number)


def _refused(w: World) -> str:
    record_id = _ready(w)
    mailing.delivered(w.j.uow, CS_SYSTEM, record_id)
    mailing.refused(w.j.uow, CS_SYSTEM, record_id, "E0101", "送付先住所 漢字")
    return record_id


def _protected(w: World) -> str:
    number = w.family[1]
    protect(w, number)
    return number


def _with_residence(w: World) -> str:
    number = _protected(w)
    mailing.register_residence(w.j.uow, BOSS, number, RESIDENCE, w.j.settings)
    return number


def _residence(w: World) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/residents/{_protected(w)}/delivery-residence", RESIDENCE


CALLS: dict[tuple[str, str], Call] = {
    ("GET", "/api/v1/mailing-records"): Call(
        READERS, 200, lambda w: ("/api/v1/mailing-records?state=held", None), needs=needs(REGISTER_READ)
    ),
    ("PATCH", "/api/v1/mailing-records/{record_id}"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/mailing-records/{_ready(w)}", {"special_circumstance": "施設入所"}),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/mailing-records/{record_id}/release"): Call(
        FILERS,
        200,
        lambda w: (f"/api/v1/mailing-records/{_held(w)}/release", None),
        needs=needs(REGISTER_FILE),
    ),
    ("POST", "/api/v1/mailing-records/{record_id}/rebuild"): Call(
        FILERS,
        201,
        lambda w: (f"/api/v1/mailing-records/{_refused(w)}/rebuild", None),
        needs=needs(REGISTER_FILE),
    ),
    ("GET", "/api/v1/residents/{addressee_number}/delivery-residence"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/residents/{_with_residence(w)}/delivery-residence", None),
        PROTECTION,
        needs=needs(PROTECTION_VIEW),
    ),
    ("PUT", "/api/v1/residents/{addressee_number}/delivery-residence"): Call(
        SUPERVISORS, 200, _residence, PROTECTION, needs=needs(PROTECTION_SET, PROTECTION_VIEW)
    ),
    ("DELETE", "/api/v1/residents/{addressee_number}/delivery-residence"): Call(
        SUPERVISORS,
        200,
        lambda w: (f"/api/v1/residents/{_with_residence(w)}/delivery-residence", None),
        PROTECTION,
        needs=needs(PROTECTION_SET, PROTECTION_VIEW),
    ),
}
