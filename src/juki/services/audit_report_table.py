"""The shape every auditor's view takes (j1370): a table with Japanese headers and plain rows, which the JSON API,
the CSV download (`csv_bytes`) and a page can all render."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

Cell = str | int | bool | list[str] | None
TableRow = dict[str, Cell]


@dataclass(frozen=True)
class Column:
    key: str
    label: str


@dataclass
class Report:
    """A table: what a report (or a page of the log) found, with Japanese headers, ready for JSON, CSV or a page."""

    kind: str
    title: str
    columns: tuple[Column, ...]
    rows: list[TableRow]
    parameters: dict[str, Cell] = field(default_factory=dict)
    truncated: bool = False
    format: str = "json"
    next: str | None = None  # the log search's cursor

    @property
    def filename(self) -> str:
        span = "-".join(str(self.parameters.get(k) or "").replace("-", "") for k in ("from", "to"))
        return f"juki_{self.kind}_{span}.csv" if span != "-" else f"juki_{self.kind}.csv"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "title": self.title,
            "from": self.parameters.get("from"),
            "to": self.parameters.get("to"),
            "parameters": self.parameters,
            "columns": [{"key": c.key, "label": c.label} for c in self.columns],
            "rows": self.rows,
            "count": len(self.rows),
            "truncated": self.truncated,
        }


def csv_bytes(report: Report) -> bytes:
    """UTF-8 with a BOM (Excel in Japan then reads it as UTF-8), CRLF, the Japanese headers first.

    A cell that a spreadsheet would take for a formula (=, +, -, @ first) is prefixed with ' : terminals and the
    names typed at a failed sign-in come from outside.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.label for c in report.columns])
    for row in report.rows:
        writer.writerow([_cell(row.get(c.key)) for c in report.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    text = str(value)
    if not isinstance(value, int) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
