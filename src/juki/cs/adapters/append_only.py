"""The triggers that make a CS table append-only (docs/cs.md), for the CS's migrations: the shared helper
(adapters/append_only.py) with the CS's own PostgreSQL function `cs_append_only()`, made once by migration cs0001."""

from __future__ import annotations

from juki.adapters import append_only


def make_append_only(*tables: str) -> None:
    append_only.make_append_only(*tables, function="cs_append_only")
