"""The 整合性確認 with the prefecture (j1100), on SQLite and PostgreSQL: the file's format and manifest, a truncated
or tampered file refused by its code with nothing queued, every difference by person and item, each differing
person queued once in the error queue and put right by the queue's own resend — and never a My Number or an
item's value in a log, a message or the report."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from juki.adapters import tables as rt
from juki.cs.adapters import consistency_file, consistency_tables
from juki.cs.adapters.consistency_file import ConsistencyFiles
from juki.cs.domain import consistency as d
from juki.cs.services import consistency, errors
from juki.cs.wire import ITEMS
from juki.domain.errors import Forbidden
from juki.policy.roles import CS_SYSTEM
from juki.services import filings
from tests import factories as f
from tests.cs.fakes import FakePrefecture
from tests.cs.support import CITY, CLERK, CS_OPERATOR, deliver, notices, rows, take_in
from tests.leakcheck import found_in

TAMPERED_ADDRESS = "東京都小平市喜平町九丁目99番99号"


@dataclass
class FakeCopy:
    """The prefecture's copy, as the simulator makes it (its held items of the city, in code order), written
    with our own writer; `spoil` changes the file or the manifest after it is written."""

    prefecture: FakePrefecture
    spoil: Callable[[consistency_file.Written], None] | None = None

    def fetch(self, city_code: str, folder: Path) -> Path:
        held = [items for _, items in sorted(self.prefecture.held.items())]
        mine = [i for i in held if i.get("市町村コード") == city_code and i.get("レコード状況フラグ") != "2"]
        written = consistency_file.write(folder, mine, city_code, datetime.now(UTC))
        if self.spoil is not None:
            self.spoil(written)
        return written.manifest_path


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    """Where a test writes exports: emptied before the leak check scans tmp_path (the file holds numbers)."""
    folder = tmp_path / "export"
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


@pytest.fixture
def tx(cs):
    return partial(consistency_tables.transaction, cs)


def _family(j, cs, prefecture) -> list[dict[str, Any]]:
    body = f.move_in(f.family_of_four()[:3])
    filings.file(j.uow, CLERK, "move-in", body)
    take_in(j, cs)
    deliver(cs, prefecture)
    return sorted(body["persons"], key=lambda p: p["resident_code"])


def _run(j, tx, prefecture, actor=CS_SYSTEM, **kwargs) -> consistency.ConsistencyReport:
    return consistency.run(j.uow, tx, ConsistencyFiles(), FakeCopy(prefecture, **kwargs), actor, CITY)


def _register_log(j, action: str) -> list[Any]:
    with j.engine.connect() as conn:
        log = conn.execute(select(rt.operation_log).order_by(rt.operation_log.c.seq)).all()
    return [r for r in log if r.action == action]


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


# --- the file -------------------------------------------------------------------------------------------------


def test_the_export_is_the_whole_file_in_code_order_with_its_manifest_owner_only_and_logged(
    j, cs, prefecture, tx, out
):
    persons = _family(j, cs, prefecture)
    written = consistency.export(j.uow, tx, ConsistencyFiles(), CS_OPERATOR, CITY, out)
    table = _csv(written.csv_path)
    assert table[0] == list(ITEMS)
    assert [r[0] for r in table[1:]] == [p["resident_code"] for p in persons]
    numbers = [r[ITEMS.index("個人番号")] for r in table[1:]]
    assert numbers == [p["my_number"] for p in persons]  # the prefecture holds it (住基法30条の6)
    assert all(r[ITEMS.index("大字・字コード")] == "" for r in table[1:])  # null: an empty field
    assert written.csv_path.read_bytes().endswith(b"\r\n")
    manifest = json.loads(written.manifest_path.read_text(encoding="utf-8"))
    assert manifest == {
        "format": "juki-honnin-kakunin-file", "format_version": 1, "city_code": CITY,
        "created_at": manifest["created_at"], "file": written.csv_path.name, "rows": 3,
        "sha256": hashlib.sha256(written.csv_path.read_bytes()).hexdigest(), "items": list(ITEMS),
    }  # fmt: skip
    for path in (written.csv_path, written.manifest_path):
        assert path.stat().st_mode & 0o777 == 0o600
    (line,) = [r for r in rows(cs, consistency_tables.t.log) if r.action == "consistency_export"]
    assert (line.staff_id, line.terminal) == ("cs1", "cs-terminal-1") and "3件" in line.message
    (entry,) = _register_log(j, "cs:consistency_export")
    assert (entry.staff_id, entry.terminal, entry.my_number_shown) == ("cs1", "cs-terminal-1", True)
    assert not found_in(line.message + entry.detail)


def test_an_export_never_overwrites_a_file(j, cs, prefecture, tx, out):
    _family(j, cs, prefecture)
    created = datetime(2026, 12, 6, tzinfo=UTC)
    consistency_file.write(out, [], CITY, created)
    with pytest.raises(FileExistsError):
        consistency_file.write(out, [], CITY, created)


def test_a_row_reads_back_as_it_was_written_null_and_all():
    items = {item: f"値{n}" for n, item in enumerate(ITEMS)} | {"大字・字コード": None, "住所": 'a,"b"\r\nc'}
    assert d.items_of([v or "" for v in d.row_of(items)]) == items


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"city_code": "132039"}, "市町村コード"),
        ({"format_version": 2}, "形式"),
        ({"items": list(ITEMS[:-1])}, "36項目"),
        ({"rows": -1}, "件数"),
        ({"sha256": "0" * 63}, "SHA-256"),
        ({"file": "../x.csv"}, "ファイル名"),
    ],
)
def test_a_manifest_that_is_not_the_citys_file_is_refused(change, why):
    good = d.Manifest(CITY, "2026-12-06T00:00:00+00:00", "a.csv", 0, "0" * 64).to_json()
    assert d.manifest_from_json(good, CITY).rows == 0
    with pytest.raises(d.ConsistencyFileError) as refused:
        d.manifest_from_json(good | change, CITY)
    assert refused.value.code == d.MANIFEST_INVALID and why in refused.value.message


def _rewrite(written: consistency_file.Written, data: bytes, manifest: dict[str, Any] | None = None) -> None:
    written.csv_path.write_bytes(data)
    if manifest is not None:
        written.manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _same_manifest(written: consistency_file.Written, data: bytes, rows: int) -> dict[str, Any]:
    """The manifest made to match the spoilt bytes: only the file's own shape can refuse it then."""
    return written.manifest.to_json() | {"sha256": hashlib.sha256(data).hexdigest(), "rows": rows}


def _swap_two_rows(w: consistency_file.Written) -> None:
    lines = w.csv_path.read_bytes().split(b"\r\n")
    lines[1], lines[2] = lines[2], lines[1]
    data = b"\r\n".join(lines)
    _rewrite(w, data, _same_manifest(w, data, w.manifest.rows))


def _short_row(w: consistency_file.Written) -> None:
    lines = w.csv_path.read_bytes().split(b"\r\n")
    lines[2] = lines[2].rsplit(b",", 1)[0]
    data = b"\r\n".join(lines)
    _rewrite(w, data, _same_manifest(w, data, w.manifest.rows))


def _row_added(w: consistency_file.Written) -> None:
    data = w.csv_path.read_bytes()
    row = data.split(b"\r\n")[1]
    _rewrite(w, data + b"99999999999" + row[11:] + b"\r\n")  # in order, well formed: only the count tells


def _wrong_header(w: consistency_file.Written) -> None:
    data = w.csv_path.read_bytes().replace("漢字氏名".encode(), "氏名".encode(), 1)
    _rewrite(w, data, _same_manifest(w, data, w.manifest.rows))


SPOILERS: dict[str, tuple[Callable[[consistency_file.Written], None], str]] = {
    "a value changed": (
        lambda w: _rewrite(w, w.csv_path.read_bytes().replace("東京都".encode(), "東京府".encode(), 1)),
        d.TAMPERED,
    ),
    "cut inside a row": (lambda w: _rewrite(w, w.csv_path.read_bytes()[:-40]), d.TRUNCATED),
    "the last row dropped": (
        lambda w: _rewrite(w, b"\r\n".join(w.csv_path.read_bytes().split(b"\r\n")[:-2]) + b"\r\n"),
        d.TRUNCATED,
    ),
    "a row added": (_row_added, d.TAMPERED),
    "an empty file": (lambda w: _rewrite(w, b""), d.TRUNCATED),
    "a wrong header": (_wrong_header, d.HEADER_WRONG),
    "a row with a field missing": (_short_row, d.MALFORMED),
    "rows out of order": (_swap_two_rows, d.MALFORMED),
    "a manifest of another city": (
        lambda w: _rewrite(w, w.csv_path.read_bytes(), w.manifest.to_json() | {"city_code": "132039"}),
        d.MANIFEST_INVALID,
    ),
}


@pytest.mark.parametrize("spoilt", sorted(SPOILERS))
def test_a_spoilt_file_is_refused_by_its_code_logged_and_nothing_is_queued(j, cs, prefecture, tx, spoilt):
    _family(j, cs, prefecture)
    prefecture.held[next(iter(prefecture.held))]["住所"] = TAMPERED_ADDRESS  # a difference it must not reach
    spoil, code = SPOILERS[spoilt]
    before = len(notices(cs))
    with pytest.raises(d.ConsistencyFileError) as refused:
        _run(j, tx, prefecture, spoil=spoil)
    assert refused.value.code == code
    assert len(notices(cs)) == before  # nothing queued
    (kept,) = consistency.runs(tx)
    assert (kept.result, kept.differences, kept.queued, kept.theirs_rows) == (code, [], [], None)
    assert [r.result for r in rows(cs, consistency_tables.t.log) if r.action == "consistency"] == [code]
    assert [e.result for e in _register_log(j, "cs:consistency")] == [code]


# --- differences and the error queue --------------------------------------------------------------------------


def test_the_same_file_on_both_sides_has_no_difference(j, cs, prefecture, tx):
    _family(j, cs, prefecture)
    report = _run(j, tx, prefecture)
    assert report.to_json() == {"persons": 3, "differences": [], "queued": 0}
    (kept,) = consistency.runs(tx)
    assert (kept.result, kept.persons, kept.ours_rows, kept.theirs_rows) == ("ok", 3, 3, 3)
    assert kept.ours_sha256 == kept.theirs_sha256  # byte for byte the same file


def _spoil_prefecture(prefecture: FakePrefecture, persons: list[dict[str, Any]], other_number: str) -> str:
    """The first person's address and number changed, the second lost, a stranger of the city added."""
    first, second = persons[0]["resident_code"], persons[1]["resident_code"]
    prefecture.held[first] |= {"住所": TAMPERED_ADDRESS, "個人番号": other_number}
    del prefecture.held[second]
    stranger = "99999999990"
    prefecture.held[stranger] = dict(prefecture.held[first]) | {"住民票コード": stranger}
    return stranger


def test_every_difference_is_reported_by_person_and_item_and_each_person_we_hold_is_queued_once(
    j, cs, prefecture, tx
):
    persons = _family(j, cs, prefecture)
    first, second = persons[0]["resident_code"], persons[1]["resident_code"]
    stranger = _spoil_prefecture(prefecture, persons, f.generate_my_number(random.Random(99)))
    report = _run(j, tx, prefecture)
    assert report.to_json()["differences"] == [
        {"resident_code": first, "item": "住所", "kind": "item_differs"},
        {"resident_code": first, "item": "個人番号", "kind": "item_differs"},
        {"resident_code": second, "item": "(登録なし)", "kind": "only_ours"},
        {"resident_code": stranger, "item": "(登録なし)", "kind": "only_theirs"},
    ]
    assert report.persons == 4 and len(report.queued) == 2  # the stranger is not ours to notify
    entries = {e.resident_code: e for e in notices(cs) if e.error_code == "consistency_difference"}
    assert {code: (e.state, e.kind, e.error_item) for code, e in entries.items()} == {
        first: ("error", "職権修正", "住所"),
        second: ("error", "職権修正", "住民票コード"),
    }
    assert "住所、個人番号" in entries[first].error_message
    texts = [e.error_message for e in entries.values()]
    texts += [r.message for r in rows(cs, consistency_tables.t.log)]
    texts += [r.detail for r in _register_log(j, "cs:consistency")]
    texts += [
        json.dumps(report.to_json(), ensure_ascii=False),
        json.dumps(consistency.runs(tx)[0].differences),
    ]
    assert not any(TAMPERED_ADDRESS in t or found_in(t) for t in texts)  # names and codes, never a value
    (logged,) = _register_log(j, "cs:consistency")
    assert sorted(logged.targets) == sorted({e.addressee_number for e in entries.values()})
    assert _run(j, tx, prefecture).queued == []  # an open entry: not queued twice
    assert len(consistency.runs(tx)) == 2


def test_the_operator_resends_a_difference_as_a_correction_and_the_next_run_finds_it_put_right(
    j, cs, prefecture, tx
):
    persons = _family(j, cs, prefecture)
    first = persons[0]["resident_code"]
    prefecture.held[first]["住所"] = TAMPERED_ADDRESS
    (entry,) = _run(j, tx, prefecture).queued
    listed = errors.list_errors(j.uow, cs.transaction, CS_OPERATOR)
    assert [(e["entry"], e["code"], e["item"]) for e in listed] == [(entry, "consistency_difference", "住所")]
    assert errors.resend(j.uow, cs.transaction, CS_OPERATOR, entry) is None
    deliver(cs, prefecture)
    sent = prefecture.received[-1]
    assert (sent.resident_code, sent.kind.value, sent.sequence) == (first, "職権修正", 2)
    assert sent.items["異常時更新順番号"] == str(entry)
    assert _run(j, tx, prefecture).to_json() == {"persons": 3, "differences": [], "queued": 0}


def test_a_person_with_a_notice_on_its_way_is_reported_but_not_queued(j, cs, prefecture, tx):
    body = f.move_in([f.person()])
    done = filings.file(j.uow, CLERK, "move-in", body)
    take_in(j, cs)
    deliver(cs, prefecture)
    (number,) = [c["addressee_number"] for c in done.changes]
    filings.file(j.uow, CLERK, "move-within", {
        "filed_on": "2025-06-20", "changed_on": "2025-06-19", "household_number": done.household_number,
        "addressee_numbers": [number], "address": {"address": "東京都小平市学園東町一丁目1番1号"},
    })  # fmt: skip
    take_in(j, cs)  # the 転居 is queued for the prefecture, not delivered yet
    report = _run(j, tx, prefecture)
    assert {x.resident_code for x in report.differences} == {body["persons"][0]["resident_code"]}
    assert "住所" in {x.item for x in report.differences}
    assert report.queued == []


def test_only_the_cs_operator_or_the_cs_itself_may_export_or_run(j, cs, prefecture, tx, out):
    _family(j, cs, prefecture)
    with pytest.raises(Forbidden):
        consistency.export(j.uow, tx, ConsistencyFiles(), CLERK, CITY, out)
    with pytest.raises(Forbidden):
        _run(j, tx, prefecture, actor=CLERK)
    assert not out.exists()
    assert [e.result for e in _register_log(j, "cs:consistency_export")] == ["denied"]
    assert _run(j, tx, prefecture, actor=CS_OPERATOR).to_json()["persons"] == 3


def test_the_runs_are_append_only(j, cs, prefecture, tx):
    _family(j, cs, prefecture)
    _run(j, tx, prefecture)
    for statement in ("UPDATE cs_consistency_runs SET result = 'x'", "DELETE FROM cs_consistency_runs"):
        with pytest.raises(DBAPIError), cs.engine.begin() as conn:
            conn.execute(text(statement))
    assert len(consistency.runs(tx)) == 1
