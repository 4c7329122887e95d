"""Checking the operation log's chain (`juki audit verify`, and the auditor's `GET /api/v1/audit/verify`)."""

from __future__ import annotations

from juki.policy.roles import LOG_READ, Actor
from juki.services.audit import Facts, LogEntry, first_broken
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory


def verify_chain(uow_factory: UnitOfWorkFactory) -> tuple[int, int | None]:
    with uow_factory() as uow:
        return first_broken(uow.queries.operation_log(), uow.queries.counter("log"))


# {"intact", "entries_intact", "first_broken"}, and "code": "log_tampered" when broken
ChainCheck = dict[str, bool | int | str | None]


def verify_for(uow_factory: UnitOfWorkFactory, actor: Actor) -> ChainCheck:
    """The auditor's check of the chain. A broken chain is answered (`log_tampered`), logged and alerted: someone
    changed the log outside the system, which the supervisors must hear about."""
    authorize(uow_factory, actor, LOG_READ, "audit:verify")
    intact, broken = verify_chain(uow_factory)
    with uow_factory() as uow:
        if broken is not None:
            uow.controls.add_alert(
                {
                    "at": uow.now,
                    "kind": "log_tampered",
                    "subject": None,
                    "staff_id": actor.staff_id,
                    "detail": f"operation log broken at entry {broken}",
                }
            )
        result = "ok" if broken is None else "broken"
        facts: Facts = {"intact": intact} if broken is None else {"intact": intact, "first_broken": broken}
        detail = f"intact={intact} first_broken={broken}"
        uow.log(actor, LogEntry("audit:verify", result=result, detail=detail, facts=facts))
        uow.commit()
    answer: ChainCheck = {"intact": broken is None, "entries_intact": intact, "first_broken": broken}
    if broken is not None:
        answer["code"] = "log_tampered"
    return answer
