"""Beyond the examples: schemathesis generates requests from juki's own `/openapi.json` and sends them to the app
in process (ASGI), a few per operation, each as one role that may call it (the role matrix's expectations pick
the role and its 事務; the matrix itself covers the other roles). Every answer must be something other than a
server error, and must match the response schema the operation declares.

SQLite only: the engines share the code above the database, and the suite has one minute for this.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.role_cases import all_calls
from tests.e2e.role_cases.common import build_world
from tests.e2e.role_cases.intermediate import attach

EXPECTED = all_calls()
# The order a role is chosen in when several may call an operation: the counter's roles first.
PREFERENCE = ("clerk", "supervisor", "auditor", "admin", "department", "contractor", "cs_operator")
# Not fuzzed here, each for a reason:
SKIPPED = {
    # The kiosk API answers only over mutual TLS with a kiosk's client certificate, which an in-process ASGI
    # call cannot present; tests/e2e/test_kiosk_tls.py drives it over a real TLS server.
    "/kiosk/v1/",
    # Ends the very session the other operations use; tests/e2e/test_auth.py covers it.
    "POST /api/v1/auth/logout",
    # Department systems only (OAuth client credentials, no staff token): tests/e2e/test_transfer_feed.py and
    # test_oauth.py drive them with a system's token, bad inputs included.
    "/api/v1/transfer/",
    "/api/v1/unified-addressees",  # the same: a department system's token (tests/e2e/test_unified_addressees.py)
    # A resident's card session only (no staff token): tests/e2e/test_my_usage.py drives them, refusals included.
    "GET /api/v1/my/usage",
    "DELETE /my/v1/sessions/current",
}
# `POST /api/v1/card-revocations` also takes a CRL as DER or PEM: schemathesis sends whatever bytes the schema
# allows, never a well-formed CRL, so real ones (and malformed ones) are tested in tests/e2e/test_kiosk_admin.py.
EXAMPLES = 5  # per operation and mode (valid and invalid requests): about 30 s in all


def _skipped(method: str, path: str) -> bool:
    label = f"{method} {path}"
    return any(label == s or path.startswith(s) for s in SKIPPED)


def _role_for(method: str, path: str) -> tuple[str | None, dict[str, str]]:
    """One role that may call the operation (None: a public one), with the 事務 the matrix calls it for."""
    call = EXPECTED.get((method, path))
    if call is None:  # outside /api/v1 (/verify, /healthz) public; inside, the role matrix will ask for one
        return ("clerk" if path.startswith("/api/v1/") else None), {}
    role = next((r for r in PREFERENCE if r in call.allowed), None)
    return role, dict(call.headers)


# Values a person or a program may well type into any parameter: dates at the calendar's ends and dates that do
# not exist, wareki, full-width digits, numbers that overflow, control characters, quotes, characters outside the
# BMP, blanks.
HOSTILE = (
    "0001-01-01",
    "9999-12-31",
    "2025-02-30",
    "R99.12.31",
    "明治元年1月1日",
    "０１２３４５６７８９",
    "-1",
    "1e309",
    "NaN",
    "\x00",
    "%",
    "' OR '1'='1",
    "𠮷髙﨑",
    "　",
    "",
)


def _operations(client: Any) -> list[tuple[Any, str, dict[str, str]]]:
    """Each operation fuzzed here, with its role's headers (None: public)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    chosen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        if not _skipped(method, path):
            role, extra = _role_for(method, path)
            chosen.append((operation, role, extra))
    return chosen


def _fuzz(operation: Any, mode: GenerationMode, send: Callable[[Any], None]) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names the operation and the case
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        send(case)

    run()


CHECKS = [not_a_server_error, response_schema_conformance]


def _signed_in(j: Any, headers: Callable[[str], dict[str, str]]) -> None:
    attach(j)  # a migrated 中間サーバー of its own (/api/v1/intermediate)
    build_world(j)
    for role in PREFERENCE:  # before any fuzzed sign-in failure can rate-limit this terminal
        headers(role)


def test_no_operation_answers_a_server_error_or_breaks_its_declared_schema(client, headers, j) -> None:
    _signed_in(j, headers)
    findings: list[str] = []
    answers: dict[str, Counter[int]] = defaultdict(Counter)
    operations = _operations(client)
    for operation, role, extra in operations:
        label = f"{operation.method.upper()} {operation.path}"
        sent = {**(headers(role) if role else {}), **extra}

        def send(case: Any, sent: dict[str, str] = sent, label: str = label) -> None:
            response = case.call_and_validate(headers=sent, checks=CHECKS)
            answers[f"{label} {case.meta.generation.mode.value}"][response.status_code] += 1

        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, send)
            except Unsatisfiable:  # an operation without parameters has no invalid request to make
                continue
            except Exception as exc:  # every operation's finding is reported, not only the first
                findings.append(f"{label} ({mode.value}, as {role}): {str(exc)[:1500]}")
    assert len(operations) > 60
    assert not findings, "\n\n".join(findings)
    # The requests reached the operations as a signed-in role (a fuzzed header may spoil some, not all).
    unsigned = sorted(
        f"{operation.method.upper()} {operation.path}"
        for operation, _, _ in operations
        if operation.definition.raw.get("security")  # a sign-in step answers 401 to made-up credentials
        and set(answers[f"{operation.method.upper()} {operation.path} positive"]) <= {401}
    )
    assert not unsigned, unsigned


def test_no_parameter_value_a_person_may_type_causes_a_server_error(client, headers, j) -> None:
    """Every path and query parameter of every operation at once set to each HOSTILE value (bodies left out: the
    generated ones above reach them)."""
    _signed_in(j, headers)
    findings: list[str] = []
    for operation, role, extra in _operations(client):
        path = {p.name for p in operation.path_parameters}
        query = {p.name for p in operation.query}
        if not path and not query:
            continue
        sent = {**(headers(role) if role else {}), **extra}
        for value in HOSTILE:
            # A path segment cannot be empty or hold a bare "%": those are other URLs, not this operation's.
            segment = value if value.strip() and value != "%" else "x"
            case = operation.Case(
                path_parameters=dict.fromkeys(path, segment), query=dict.fromkeys(query, value)
            )
            try:
                case.call_and_validate(headers=sent, checks=[not_a_server_error])
            except Exception as exc:
                findings.append(f"{operation.method.upper()} {operation.path} {value!r}: {str(exc)[:800]}")
    assert not findings, "\n\n".join(findings)
