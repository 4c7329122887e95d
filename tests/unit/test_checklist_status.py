"""docs/standard-checklist-status.md keeps its summary true: the table's counts are those of the rows below it.

A row's status is one of ✅ met, ◐ partly, ☐ left, — (not applicable). Per j-number: ✅ when every row of it is
met, ☐ when every row is left, — when none applies, ◐ otherwise (rows that do not apply are left out). The summary
is written by hand; this test recounts it, so that a row changed without its summary fails here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

STATUS = Path(__file__).resolve().parents[2] / "docs" / "standard-checklist-status.md"
MARKS = {"✅": "met", "◐": "partly", "☐": "left", "—": "na"}
ROW = re.compile(r"^\| (j\d+(?:–j\d+)?) \| [^|]* \| (✅|◐|☐|—)")
SECTION = re.compile(r"^## (\d+)\. (.+)$")


def _rows() -> dict[str, list[tuple[str, str]]]:
    """Section title → [(j-number, status)] in the order of the document."""
    sections: dict[str, list[tuple[str, str]]] = defaultdict(list)
    title = None
    for line in STATUS.read_text(encoding="utf-8").splitlines():
        if m := SECTION.match(line):
            title = f"{m.group(1)}. {m.group(2).strip()}"
        elif title and (m := ROW.match(line)):
            sections[title] += [(n, MARKS[m.group(2)]) for n in _numbers(m.group(1))]
    return sections


def _numbers(cell: str) -> list[str]:
    """`j50`, or a range `j1220–j1240` (the checklist numbers its items in tens)."""
    first, _, last = cell.partition("–")
    start = int(first[1:])
    return [f"j{n}" for n in range(start, int(last[1:]) + 1 if last else start + 1, 10)]


def _per_number(rows: list[tuple[str, str]]) -> Counter[str]:
    by_number: dict[str, set[str]] = defaultdict(set)
    for number, status in rows:
        by_number[number].add(status)
    verdicts: Counter[str] = Counter()
    for statuses in by_number.values():
        applying = statuses - {"na"}
        if not applying:
            verdicts["na"] += 1
        elif applying == {"met"}:
            verdicts["met"] += 1
        elif applying == {"left"}:
            verdicts["left"] += 1
        else:
            verdicts["partly"] += 1
    return verdicts


def _row_count(title: str) -> Counter[str]:
    """Rows as written (a range is one row), by status."""
    counts: Counter[str] = Counter()
    current = None
    for line in STATUS.read_text(encoding="utf-8").splitlines():
        if m := SECTION.match(line):
            current = f"{m.group(1)}. {m.group(2).strip()}"
        elif current == title and (m := ROW.match(line)):
            counts[MARKS[m.group(2)]] += 1
    return counts


def _summary() -> dict[str, list[int]]:
    table: dict[str, list[int]] = {}
    text = STATUS.read_text(encoding="utf-8").split("## Summary", 1)[1].split("\n## ", 1)[0]
    for line in text.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].isdigit():
            rows = [int(n) for n in cells[6].split(" / ")]
            table[cells[0]] = [int(n) for n in cells[1:6]] + rows
    return table


def test_the_summary_counts_what_the_rows_say() -> None:
    sections, summary = _rows(), _summary()
    assert set(sections) == set(summary) - {"total"}
    totals = [0] * 9
    for title, rows in sections.items():
        verdicts, rows_of = _per_number(rows), _row_count(title)
        counted = [len({n for n, _ in rows})]
        counted += [verdicts[k] for k in ("met", "partly", "left", "na")]
        counted += [rows_of[k] for k in ("met", "partly", "left", "na")]
        assert summary[title] == counted, f"{title}: summary {summary[title]}, rows say {counted}"
        totals = [a + b for a, b in zip(totals, counted, strict=True)]
    assert summary["total"] == totals
