"""Answers of the auditor's views (docs/api-extensions.md "Auditor"); each also comes as CSV with `format=csv`."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from juki.web.responses import Out


class Column(Out):
    key: str
    label: str  # the Japanese header of the CSV


class LogEntry(Out):
    """An operation-log entry, its time in Japan."""

    seq: int
    at: str
    staff_id: str | None
    staff_name: str | None
    role: str | None
    terminal: str | None
    procedure: str | None
    action: str
    targets: list[str]
    my_number_shown: bool
    result: str | None
    detail: str | None


class LogPage(Out):
    entries: list[LogEntry]
    next: str | None  # the cursor for `after`; null at the end
    columns: list[Column]


class Report(Out):
    """A report; its rows hold the keys its columns name."""

    kind: str
    title: str
    from_: str | None = Field(alias="from")
    to: str | None
    parameters: dict[str, Any]  # the period and the thresholds the report applied
    columns: list[Column]
    rows: list[dict[str, Any]]
    count: int
    truncated: bool


class ChainCheck(Out):
    """The operation log's hash chain; `code` (`log_tampered`) only when broken."""

    intact: bool
    entries_intact: int
    first_broken: int | None
    code: str | None = None
