"""Checking the operation log's chain (`juki audit verify`)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from juki.adapters import tables as t
from juki.services.audit import first_broken


def verify_chain(engine: Engine) -> tuple[int, int | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(t.operation_log).order_by(t.operation_log.c.seq)).yield_per(5000)
        return first_broken(rows)
