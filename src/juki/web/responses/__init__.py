"""What the API answers, as OpenAPI documents it: one model per answer shape, given as `response_model`.

FastAPI validates and serialises each answer through its model, so a model lists the fields the services return,
in their order, with their nullability: the answer is the same with or without it. Output models never forbid
extra keys (`Out`): a key added to a service's answer stays in the answer until its model names it.
Dates and times are ISO strings here, as the services write them (a `date` field would re-format them).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    """An answer (or part of one): keys beyond the declared ones pass through unchanged."""

    model_config = ConfigDict(extra="allow")


class FieldMessage(Out):
    """A warning on an accepted request (or one error of a problem): which rule, which field, in Japanese."""

    code: str
    field: str | None
    message: str


# Answers that are not JSON, for `responses=`.
PDF: dict[str, Any] = {"content": {"application/pdf": {}}}
CSV: dict[str, Any] = {"content": {"text/csv": {}}}
NO_CONTENT: dict[str, Any] = {"description": "done; no body"}

# Every refusal is application/problem+json (RFC 9457) with API.md's stable codes (web/errors.py writes it): one
# declaration for all client errors, given to each router; it replaces FastAPI's default 422, which is not what
# juki answers. Written out here because a model's schema would be filed under application/json.
_TEXT = {"type": "string"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": _TEXT,
        "title": _TEXT,
        "status": {"type": "integer"},
        "detail": _TEXT,
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "field", "message"],
                "properties": {"code": _TEXT, "field": {"type": ["string", "null"]}, "message": _TEXT},
            },
        },
    },
}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "refused: `errors` name the stable codes (API.md), fields and messages",
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }
}
