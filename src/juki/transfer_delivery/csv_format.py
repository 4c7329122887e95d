"""The CSV of a transfer file, by the character rules we follow (docs/transfer-files-and-push.md):

- UTF-8 without a byte-order mark (a system reads it, not a spreadsheet); every field quoted, a quote doubled
  (RFC 4180); records end with CRLF, the header first;
- no control characters (C0, DEL, C1: U+0000–U+001F, U+007F–U+009F): each is replaced by a space and reported,
  so a stray line break can never split a record in a reader that ignores the quoting;
- characters outside JIS X 0213 (a 外字 of the 文字情報基盤 / MJ beyond it, a variation selector) are written as they
  are, and reported by row, column and code point (never the value), so the department can map them: they are
  not dropped or replaced, which would change a name;
- the text is not normalised (NFC/NFKC would change the identity of some MJ characters);
- a value: None → empty; a bool → `1`/`0`; a number as written; an object or list → compact JSON.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Python's codec for EUC JIS X 0213:2004: a character it cannot encode is outside JIS X 0213.
_JIS_X_0213 = "euc_jis_2004"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MAX_REPORTED = 1000  # issues listed in a manifest; the count is always whole


@dataclass(frozen=True)
class CharacterIssue:
    row: int  # 1 = the first record after the header
    column: str
    kind: str  # "control_replaced" or "outside_jis_x_0213"
    codepoints: str  # "U+20BB7" (a sequence: "U+304B U+309A"); never the value itself

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "kind": self.kind, "codepoints": self.codepoints}


def _codepoints(text: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in text)


def outside_jis_x_0213(text: str) -> list[str]:
    """The runs of `text` that JIS X 0213 cannot represent (a combining sequence it has as one character passes)."""
    if text.isascii():
        return []
    found: list[str] = []
    rest = text
    while rest:
        try:
            rest.encode(_JIS_X_0213)
            break
        except UnicodeEncodeError as exc:
            found.append(rest[exc.start : exc.end])
            rest = rest[exc.end :]
    return found


def plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


class CsvRows:
    """Turns records into CSV bytes, one record at a time (a full extract streams), noting character issues."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.count = 0
        self.issues: list[CharacterIssue] = []
        self.issue_count = 0
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)

    def header(self) -> bytes:
        return self._line(list(self.columns))

    def row(self, values: Mapping[str, Any]) -> bytes:
        self.count += 1
        return self._line([self._cell(column, plain(values.get(column))) for column in self.columns])

    def _cell(self, column: str, text: str) -> str:
        if _CONTROL.search(text):
            for ch in sorted(set(_CONTROL.findall(text))):
                self._note(CharacterIssue(self.count, column, "control_replaced", _codepoints(ch)))
            text = _CONTROL.sub(" ", text)
        for run in outside_jis_x_0213(text):
            self._note(CharacterIssue(self.count, column, "outside_jis_x_0213", _codepoints(run)))
        return text

    def _note(self, issue: CharacterIssue) -> None:
        self.issue_count += 1
        if len(self.issues) < MAX_REPORTED:
            self.issues.append(issue)

    def _line(self, cells: list[str]) -> bytes:
        self._writer.writerow(cells)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")
