"""Every `/api/` operation documents what it answers in /openapi.json: a JSON answer has a schema with named
properties (so a route added without a response model fails here), a file (PDF, CSV) names its media type, and a
`204` has no body. That the answers match these schemas is tests/e2e/test_openapi_fuzz.py's check."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.responses import JSONResponse

JSON = "application/json"


def _resolved(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _objects(schema: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas an answer may take (each member of an anyOf: a filing answers 201 or 202)."""
    schema = _resolved(schema, spec)
    members = schema.get("anyOf") or schema.get("oneOf")
    return [o for m in members for o in _objects(m, spec)] if members else [schema]


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(path, route) of every route, into included routers (FastAPI keeps an included router as one entry whose
    own routes carry the path) and mounts."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            found += _routes(route.original_router.routes, prefix + getattr(context, "prefix", ""))
        elif hasattr(route, "routes"):
            found += _routes(route.routes, prefix + getattr(route, "path", ""))
    return found


def _operations(client: Any) -> list[tuple[str, str, APIRoute]]:
    routes = [(p, r) for p, r in _routes(client.app.routes) if p.startswith("/api/") and r.include_in_schema]
    return [(p, m, r) for p, r in routes for m in sorted(r.methods or ())]


def _answers_json(route: APIRoute) -> bool:
    response_class = getattr(route.response_class, "value", route.response_class)  # a DefaultPlaceholder
    return issubclass(response_class, JSONResponse)


def _undocumented(path: str, method: str, route: APIRoute, spec: dict[str, Any]) -> str | None:
    status = str(route.status_code or 200)
    declared = spec["paths"][path][method.lower()]["responses"].get(status)
    if declared is None:
        return f"no {status} response"
    content = declared.get("content", {})
    if status == "204":
        return "a 204 with a body" if content else None
    if not _answers_json(route):
        return None if set(content) - {JSON} else "no media type for its file"
    schema = content.get(JSON, {}).get("schema")
    if schema is None:
        return "no JSON schema"
    shapeless = [o.get("title", "?") for o in _objects(schema, spec) if not o.get("properties")]
    return f"an answer without named properties: {shapeless}" if shapeless else None


def test_every_api_operation_documents_its_answer(client):
    spec = client.get("/openapi.json").json()
    operations = _operations(client)
    found = {
        f"{method} {path}": problem
        for path, method, route in operations
        if (problem := _undocumented(path, method, route, spec)) is not None
    }
    assert len(operations) > 60
    assert not found, found


def test_a_file_answer_and_a_json_answer_are_documented_side_by_side(client):
    """The overflow list answers JSON or, with `format=pdf`, the PDF; the audit views JSON or CSV."""
    spec = client.get("/openapi.json").json()
    for path, kind in (
        ("/api/v1/certificates/overflow-list", "application/pdf"),
        ("/api/v1/audit/log", "text/csv"),
        ("/api/v1/audit/reports/{kind}", "text/csv"),
    ):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert {JSON, kind} <= set(content), path
        assert _objects(content[JSON]["schema"], spec)[0]["properties"], path
