"""The 整合性確認 with the prefecture server (標準仕様書 j1100): the CS's whole 本人確認情報ファイル against the
prefecture's copy of it, file against file (format: cs/domain/consistency.py; docs/cs-consistency.md).

- `export` writes the file and its manifest: a 特定個人情報ファイル (every person's 個人番号, which the prefecture
  holds under 住基法30条の6), so its output is recorded as a media output is — in the CS log and in the register's
  operation log, with operator, terminal, row count and SHA-256 (`cs:consistency_export`, 個人番号 shown).
- `run` exports ours, fetches the prefecture's copy, verifies both against their manifests (a truncated or
  tampered file is refused whole by its code: nothing compared, nothing queued), compares them person by person
  and item by item, and puts each differing person into the error queue (`consistency_difference`, the first
  differing item) for the operator to correct or resend with the queue's own actions (services/errors.py). Every
  run is kept (`cs_consistency_runs`) and logged: persons, item names and kinds, never a value.

Who may: the CS operator (`cs:operate`), or the CS itself acting unattended (`CS_SYSTEM`, as its daily comparison);
either must hold `my_number:reveal`, since the file opens every number.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from juki.cs.domain.consistency import (
    ITEM_DIFFERS,
    MISSING,
    ONLY_OURS,
    ONLY_THEIRS,
    ConsistencyFileError,
    Difference,
    Manifest,
    Row,
    Written,
    compare,
)
from juki.cs.domain.items import Items
from juki.cs.services.ports import ERROR, FINAL, CsStore, Current, Entry, LogLine
from juki.cs.wire import NoticeKind, Unreachable
from juki.policy.roles import CS_OPERATE, CS_SYSTEM, MY_NUMBER_REVEAL, Actor
from juki.services.audit import Fact, LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

DIFFERENCE = "consistency_difference"  # the error queue's code of a person found differing
UNREACHABLE = "unreachable"
CORRECTION = NoticeKind.EX_OFFICIO_CORRECTION.value  # what a resend notifies: the CS's items as they stand
MESSAGE_ITEMS = 8  # item names in an entry's message; the run keeps them all


@dataclass(frozen=True)
class KeptRun:
    """One 整合性確認 as the CS keeps it (append-only): persons, item names and kinds, never a value."""

    at: datetime
    city_code: str
    result: str  # ok, unreachable, or a refused file's code
    persons: int
    ours_rows: int | None
    theirs_rows: int | None
    ours_sha256: str | None
    theirs_sha256: str | None
    differences: list[dict[str, str]]
    queued: list[int]
    staff_id: str
    terminal: str


class ConsistencyStore(Protocol):
    @property
    def cs(self) -> CsStore: ...

    def file_rows(self) -> Iterator[Items]: ...
    def addressee_of(self, resident_code: str) -> str | None: ...
    def keep_run(self, run: KeptRun) -> None: ...
    def runs(self) -> list[KeptRun]: ...


ConsistencyTransaction = Callable[[], AbstractContextManager[ConsistencyStore]]


class Files(Protocol):
    """The file on disk (adapters/consistency_file.ConsistencyFiles)."""

    def write(self, folder: Path, rows: Iterable[Items], city_code: str, created_at: datetime) -> Written: ...
    def read_manifest(self, path: Path, city_code: str) -> Manifest: ...
    def verify(self, csv_path: Path, manifest: Manifest) -> None: ...
    def rows(self, csv_path: Path) -> Iterator[Row]: ...
    def scratch(self) -> AbstractContextManager[Path]: ...


class PrefectureCopy(Protocol):
    """The prefecture's copy of the city's file (adapters/consistency_client.py)."""

    def fetch(self, city_code: str, folder: Path) -> Path:
        """Its manifest and CSV into `folder`; the manifest's path. Raises wire.Unreachable."""
        ...


@dataclass
class ConsistencyReport:
    persons: int = 0
    differences: list[Difference] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # error-queue entry numbers

    def to_json(self) -> dict[str, Any]:
        """`juki cs consistency`'s answer: codes, item names and kinds (never a value)."""
        return {
            "persons": self.persons,
            "differences": [d.to_json() for d in self.differences],
            "queued": len(self.queued),
        }


# --- the export -------------------------------------------------------------------------------------------------


def export(
    uow_factory: UnitOfWorkFactory,
    tx: ConsistencyTransaction,
    files: Files,
    actor: Actor,
    city_code: str,
    folder: Path,
) -> Written:
    """The whole file and its manifest into `folder` (owner-only), recorded as a media output."""
    _authorize(uow_factory, actor, "cs:consistency_export")
    return _export(uow_factory, tx, files, actor, city_code, folder)


def _export(
    uow_factory: UnitOfWorkFactory,
    tx: ConsistencyTransaction,
    files: Files,
    actor: Actor,
    city_code: str,
    folder: Path,
) -> Written:
    with tx() as store:
        written = files.write(folder, store.file_rows(), city_code, store.cs.now)
        manifest = written.manifest
        message = f"本人確認情報ファイル（特定個人情報）を出力: {manifest.file} {manifest.rows}件 SHA-256 {manifest.sha256}"
        store.cs.log(LogLine("consistency_export", "ok", message, actor.staff_id, actor.terminal))
    facts: dict[str, Fact] = {"rows": manifest.rows, "sha256": manifest.sha256, "file": manifest.file}
    with uow_factory() as uow:
        uow.log(actor, LogEntry("cs:consistency_export", my_number_shown=True, detail=message, facts=facts))
        uow.commit()
    return written


def _authorize(uow_factory: UnitOfWorkFactory, actor: Actor, action: str) -> None:
    if actor.role != CS_SYSTEM.role:
        authorize(uow_factory, actor, CS_OPERATE, action)
    authorize(uow_factory, actor, MY_NUMBER_REVEAL, action)  # the file opens every person's number


# --- the run ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sides:
    ours: Written
    theirs: Manifest
    their_csv: Path


def run(
    uow_factory: UnitOfWorkFactory,
    tx: ConsistencyTransaction,
    files: Files,
    prefecture: PrefectureCopy,
    actor: Actor,
    city_code: str,
    export_to: Path | None = None,
) -> ConsistencyReport:
    """One 整合性確認. Raises ConsistencyFileError (a file refused) or Unreachable after keeping and logging the
    run; our file is kept in `export_to` when given, else removed with the prefecture's copy."""
    _authorize(uow_factory, actor, "cs:consistency")
    with files.scratch() as work:
        sides = _both_files(uow_factory, tx, files, prefecture, actor, city_code, export_to or work, work)
        report = ConsistencyReport()
        report.differences = list(compare(files.rows(sides.ours.csv_path), files.rows(sides.their_csv)))
    only_theirs = sum(1 for d in report.differences if d.kind == ONLY_THEIRS)
    report.persons = sides.ours.manifest.rows + only_theirs
    with tx() as store:
        queued = _queue(store, report.differences, actor)
        report.queued = [entry for entry, _ in queued]
        _keep(store, actor, city_code, "ok", report, sides)
    _register_log(uow_factory, actor, "ok", _summary(report), report, sorted({p for _, p in queued}))
    return report


def _both_files(
    uow_factory: UnitOfWorkFactory,
    tx: ConsistencyTransaction,
    files: Files,
    prefecture: PrefectureCopy,
    actor: Actor,
    city_code: str,
    ours_to: Path,
    work: Path,
) -> _Sides:
    """Ours written, theirs fetched, both verified against their manifests; a failure kept and logged."""
    ours = _export(uow_factory, tx, files, actor, city_code, ours_to)
    try:
        manifest_path = prefecture.fetch(city_code, work / "prefecture")
        theirs = files.read_manifest(manifest_path, city_code)
        their_csv = manifest_path.parent / theirs.file
        files.verify(their_csv, theirs)
        files.verify(ours.csv_path, ours.manifest)
    except ConsistencyFileError as refused:
        _failed(uow_factory, tx, actor, city_code, refused.code, refused.message, ours)
        raise
    except Unreachable:
        _failed(uow_factory, tx, actor, city_code, UNREACHABLE, "都道府県サーバから応答がありません", ours)
        raise
    return _Sides(ours, theirs, their_csv)


def _failed(
    uow_factory: UnitOfWorkFactory,
    tx: ConsistencyTransaction,
    actor: Actor,
    city_code: str,
    code: str,
    message: str,
    ours: Written,
) -> None:
    with tx() as store:
        _keep(store, actor, city_code, code, ConsistencyReport(), None, ours)
        store.cs.log(LogLine("consistency", code, message, actor.staff_id, actor.terminal))
    _register_log(uow_factory, actor, code, message, ConsistencyReport())


def _keep(
    store: ConsistencyStore,
    actor: Actor,
    city_code: str,
    result: str,
    report: ConsistencyReport,
    sides: _Sides | None,
    ours: Written | None = None,
) -> None:
    mine = sides.ours if sides else ours
    store.keep_run(
        KeptRun(
            store.cs.now, city_code, result, report.persons,
            mine.manifest.rows if mine else None, sides.theirs.rows if sides else None,
            mine.manifest.sha256 if mine else None, sides.theirs.sha256 if sides else None,
            [d.to_json() for d in report.differences], list(report.queued), actor.staff_id, actor.terminal,
        )
    )  # fmt: skip
    if result == "ok":
        store.cs.log(LogLine("consistency", "ok", _summary(report), actor.staff_id, actor.terminal))


def _summary(report: ConsistencyReport) -> str:
    persons = len({d.resident_code for d in report.differences})
    return f"{report.persons}人を照合、相違{persons}人（{len(report.differences)}件）、エラーキューへ{len(report.queued)}件"


def _register_log(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    result: str,
    message: str,
    report: ConsistencyReport,
    queued_persons: list[str] | None = None,
) -> None:
    facts: dict[str, Fact] = {
        "persons": report.persons,
        "differences": len(report.differences),
        "queued": len(report.queued),
    }
    with uow_factory() as uow:
        entry = LogEntry("cs:consistency", queued_persons or [], result=result, detail=message, facts=facts)
        uow.log(actor, entry)
        uow.commit()


# --- into the error queue -----------------------------------------------------------------------------------------


def _queue(store: ConsistencyStore, differences: list[Difference], actor: Actor) -> list[tuple[int, str]]:
    """Each person we hold who differs, once, as an error-queue entry — unless the person has an entry that is
    not done (an open error, or a notice on its way: the difference may be that notice) or changed since the
    export (its 更新順番号 moved on). A person only the prefecture holds has nothing of ours to resend: reported
    and kept, not queued."""
    by_person: dict[str, list[Difference]] = {}
    for d in differences:
        if d.kind in (ONLY_OURS, ITEM_DIFFERS):
            by_person.setdefault(d.resident_code, []).append(d)
    queued = []
    for code, found in by_person.items():
        entry = _queue_person(store, code, found, actor)
        if entry is not None:
            queued.append(entry)
    return queued


def _queue_person(
    store: ConsistencyStore, code: str, found: list[Difference], actor: Actor
) -> tuple[int, str] | None:
    addressee = store.addressee_of(code)
    current = store.cs.current(addressee) if addressee else None
    if current is None or str(current.sequence) != found[0].sequence:
        return None
    entries = store.cs.entries_of(current.addressee_number)
    if any(e.state not in FINAL for e in entries):
        return None
    item, message = _entry_words(found)
    entry = store.cs.add_entry(_entry_row(current, entries, item, message))
    line = LogLine("consistency", DIFFERENCE, message, actor.staff_id, actor.terminal, entry,
                   current.addressee_number, CORRECTION)  # fmt: skip
    store.cs.log(line)
    return entry, current.addressee_number


def _entry_words(found: list[Difference]) -> tuple[str, str]:
    if found[0].kind == ONLY_OURS:
        return "住民票コード", "都道府県サーバがこの者の本人確認情報を保有していません"
    names = [d.item for d in found if d.item != MISSING]
    shown = "、".join(names[:MESSAGE_ITEMS]) + ("ほか" if len(names) > MESSAGE_ITEMS else "")
    return names[0], f"都道府県サーバの本人確認情報と相違があります: {shown}"


def _entry_row(current: Current, entries: list[Entry], item: str, message: str) -> dict[str, object]:
    """An entry after the person's last one (the same register position, the next part), holding the CS's items
    as they stand: a resend notifies them as a 職権修正 with the next 更新順番号; a correction changes them first."""
    last = max(entries, key=lambda e: (e.event_position, e.part), default=None)
    return {
        "notice_id": uuid.uuid4().hex,
        "addressee_number": current.addressee_number,
        "change_reason": CORRECTION,
        "kind": CORRECTION,
        "event_position": last.event_position if last else 0,
        "part": last.part + 1 if last else 0,
        "register_version": current.register_version,
        "household_changed": False,
        "items": dict(current.items),
        "attempts": 0,
        "state": ERROR,
        "error_code": DIFFERENCE,
        "error_item": item,
        "error_message": message,
    }


def runs(tx: ConsistencyTransaction) -> list[KeptRun]:
    with tx() as store:
        return store.runs()
