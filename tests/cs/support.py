"""What the CS's tests share: actors, the intake run against the test register, and raw reads of the CS tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from juki.bootstrap import Juki
from juki.cs.adapters import tables as t
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.services import delivery, intake
from juki.policy.roles import Actor
from tests.cs.fakes import FakePrefecture

CITY = "132110"
CLERK = Actor("clerk1", "窓口 一郎", "clerk", "counter-3")
CS_OPERATOR = Actor("cs1", "CS 五郎", "cs_operator", "cs-terminal-1")
SUPERVISOR = Actor("super1", "係長 花子", "supervisor", "desk-1")


def take_in(j: Juki, cs: CsDatabase) -> int:
    return intake.run_all(j.uow, cs.transaction, j.event_key, CITY)


def deliver(cs: CsDatabase, prefecture: FakePrefecture, **kwargs: Any) -> delivery.DeliveryReport:
    return delivery.deliver(cs.transaction, prefecture, "cs-server", **kwargs)


def rows(cs: CsDatabase, table: Any, *order: Any) -> list[Any]:
    with cs.engine.connect() as conn:
        return list(conn.execute(select(table).order_by(*order)))


def notices(cs: CsDatabase) -> list[Any]:
    return rows(cs, t.notices, t.notices.c.id)


def states(cs: CsDatabase) -> list[tuple[str, str, int | None, str]]:
    return [(n.addressee_number, n.kind, n.sequence, n.state) for n in notices(cs)]
