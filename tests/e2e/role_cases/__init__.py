"""The role × endpoint expectations, one module per area; each module exports `CALLS`.

A new endpoint needs an entry in some module here, or `test_every_api_endpoint_has_an_expectation` fails.
"""

from __future__ import annotations

import importlib
import pkgutil

from tests.e2e.role_cases.common import Call


def all_calls() -> dict[tuple[str, str], Call]:
    calls: dict[tuple[str, str], Call] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        overlap = set(calls) & set(module.CALLS)
        assert not overlap, f"{info.name} repeats expectations for {sorted(overlap)}"
        calls.update(module.CALLS)
    return calls
