"""Checking the operation log's chain (`juki audit verify`)."""

from __future__ import annotations

from juki.services.audit import first_broken
from juki.services.unit_of_work import UnitOfWorkFactory


def verify_chain(uow_factory: UnitOfWorkFactory) -> tuple[int, int | None]:
    with uow_factory() as uow:
        return first_broken(uow.queries.operation_log(), uow.queries.counter("log"))
