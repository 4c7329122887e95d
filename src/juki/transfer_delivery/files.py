"""File feeds (庁内データ連携, ファイル連携): 差分 and 全件 CSV files with a manifest, per department system.

Each system has a folder `<out>/<system_id>/`. A 差分 (kind `diff`) holds the changes after the system's file
cursor, as `changes_for` gives them to that system; its name carries the cursor range, so the files sort in order:

    <system_id>_diff_<from, 12 digits>-<to, 12 digits>.csv[.enc]  and  ….manifest.json

A 全件 (kind `full`) holds `full_extract`: `<system_id>_full_<UTC time>.csv[.enc]`. A system whose policy includes
the 個人番号 gets `.csv.enc`, sealed with its own key (sealed.py); every other system a plain `.csv`.

Exactly once across crashes: the data file and its manifest are written and renamed into place first (the manifest
last: folder.py); then the delivery is logged and the cursor moved in one transaction (feed.py). A run that died
between the two finds, on its next start, a finished 差分 whose range starts at the cursor: it logs it and moves
the cursor past it (it does not write those changes again). A run that died before the manifest leaves nothing a
reader takes, and the next run removes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from juki.transfer_delivery import folder as fs
from juki.transfer_delivery.csv_format import CsvRows
from juki.transfer_delivery.feed import Feed, Target, cursor_name
from juki.transfer_delivery.sealed import (
    ALGORITHM,
    SealingWriter,
    SystemKey,
    check_system_id,
    key_path,
    load_or_create_key,
    open_file,
)

FORMAT = "juki-transfer-file/1"
CHANNEL = "file"
DIFF, FULL = "diff", "full"
# The feed's own fields first (a 差分's change, a 全件's person), then the record's items. `filed_on` of a change is
# the 届出日 of that change; a system whose items include `filed_on` reads it there.
DIFF_COLUMNS = (
    "sequence", "event", "change_reason", "changed_on", "filed_on", "addressee_number", "version", "status",
    "protected",
)  # fmt: skip
FULL_COLUMNS = ("addressee_number", "version", "status", "protected")
PAGE = 500


@dataclass(frozen=True)
class FileSettings:
    out: Path
    key_dir: Path
    retention_days: int = 30
    max_rows: int = 100_000  # a 差分 of more changes is split into several files, each with its own range
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Written:
    path: Path
    manifest: dict[str, Any]
    persons: tuple[str, ...]


@dataclass
class RunReport:
    system_id: str
    written: list[Written] = field(default_factory=list)
    recovered: list[str] = field(
        default_factory=list
    )  # files finished by a run that died before recording them
    removed: list[str] = field(default_factory=list)  # expired, or left unfinished by a run that died


def columns_for(target: Target, kind: str) -> tuple[str, ...]:
    """The header: the feed's own fields, then exactly the items the policy gives the system (nothing else)."""
    lead = DIFF_COLUMNS if kind == DIFF else FULL_COLUMNS
    items = tuple(i for i in target.items if i not in lead)
    return lead + items + (("my_number",) if target.my_number else ())


def _values(change: Mapping[str, Any], lead: tuple[str, ...]) -> dict[str, Any]:
    """A change (or a person) as one CSV record: the feed's fields from the change, the items from its record."""
    record = change.get("record")
    values = dict(record) if isinstance(record, Mapping) else {}
    values.update({k: change[k] for k in lead if k in change})
    return values


def _person(change: Mapping[str, Any]) -> str:
    return str(change.get("addressee_number") or "")


# --- writing one file --------------------------------------------------------------------------------------------


class _Hashing:
    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.digest = out, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)


def _write(
    folder: Path,
    name: str,
    rows: Iterable[Mapping[str, Any]],
    target: Target,
    kind: str,
    key: SystemKey | None,
) -> tuple[CsvRows, str, str, list[str]]:
    """Write the CSV (sealed when a key is given) under a temporary name; (rows, file sha256, csv sha256, persons)."""
    lead = DIFF_COLUMNS if kind == DIFF else FULL_COLUMNS
    csv_rows, plain, persons = CsvRows(columns_for(target, kind)), hashlib.sha256(), []
    with fs.new_file(folder, name) as fh:
        hashing = _Hashing(fh)
        sealer = SealingWriter(key, hashing) if key is not None else None

        def emit(data: bytes) -> None:
            plain.update(data)
            (sealer or hashing).write(data)

        emit(csv_rows.header())
        for row in rows:
            persons.append(_person(row))
            emit(csv_rows.row(_values(row, lead)))
        if sealer is not None:
            sealer.close()
    return csv_rows, hashing.digest.hexdigest(), plain.hexdigest(), persons


def _manifest(
    target: Target,
    kind: str,
    name: str,
    created: datetime,
    cursor: dict[str, int | None] | None,
    written: tuple[Any, ...],
) -> dict[str, Any]:
    csv_rows, file_sha, plain_sha, _ = written
    encryption = None
    if target.my_number:
        encryption = {"algorithm": ALGORITHM, "key_id": None, "plaintext_sha256": plain_sha}
    return {
        "format": FORMAT,
        "kind": kind,
        "system_id": target.system_id,
        "department": target.department,
        "created_at": created.isoformat(),
        "cursor": cursor,
        "file": name,
        "row_count": csv_rows.count,
        "columns": list(csv_rows.columns),
        "sha256": file_sha,
        "my_number": target.my_number,
        "encryption": encryption,
        "characters": {
            "encoding": "UTF-8",
            "newline": "CRLF",
            "issue_count": csv_rows.issue_count,
            "issues": [i.to_json() for i in csv_rows.issues],
        },
    }


def write_file(
    folder: Path,
    target: Target,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    key_dir: Path,
    created: datetime,
    cursor: dict[str, int | None] | None = None,
) -> Written:
    """One finished file and its manifest in the system's folder (the folder must be locked by the caller)."""
    if kind == DIFF and cursor is not None:
        stamp = f"{cursor['from']:012d}-{cursor['to']:012d}"
    else:
        stamp = created.strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{target.system_id}_{kind}_{stamp}.csv" + (".enc" if target.my_number else "")
    key = load_or_create_key(key_dir, target.system_id) if target.my_number else None
    written = _write(folder, name, rows, target, kind, key)
    manifest = _manifest(target, kind, name, created, cursor, written)
    if key is not None and manifest["encryption"] is not None:
        manifest["encryption"]["key_id"] = key.active
    fs.write_json(folder, name + fs.MANIFEST_SUFFIX, manifest)
    fs.publish(folder, name, name + fs.MANIFEST_SUFFIX)
    return Written(folder / name, manifest, tuple(dict.fromkeys(p for p in written[3] if p)))


# --- the runs ----------------------------------------------------------------------------------------------------


def _system_folder(settings: FileSettings, target: Target) -> Path:
    fs.owner_only_dir(settings.out, enforce=False)
    return fs.owner_only_dir(settings.out / check_system_id(target.system_id))


def _collect(feed: Feed, target: Target, after: int, max_rows: int) -> tuple[list[dict[str, Any]], int]:
    """The changes after the cursor, page by page, up to max_rows; and the cursor after them."""
    changes: list[dict[str, Any]] = []
    position = after
    while len(changes) < max_rows:
        page = feed.changes(target.system_id, position, min(PAGE, max_rows - len(changes)))
        if page.next <= position:
            break
        changes.extend(page.changes)
        position = page.next
    return changes, position


def _items(target: Target) -> list[str]:
    return [*target.items, *(["my_number"] if target.my_number else [])]


def _recover(feed: Feed, target: Target, settings: FileSettings, folder: Path, report: RunReport) -> None:
    """A 差分 written whole by a run that died before it was recorded: record it now (it is not written again)."""
    name = cursor_name(CHANNEL, target.system_id)
    for path, manifest in fs.manifests(folder):
        cursor = manifest.get("cursor") or {}
        if manifest.get("kind") != DIFF or cursor.get("from") != feed.cursor(name):
            continue
        data = folder / fs.data_name(path.name)
        persons = _persons_in(data, manifest, settings.key_dir, target.system_id)
        feed.delivered(target.system_id, persons, _items(target), CHANNEL, (name, int(cursor["to"])))
        report.recovered.append(data.name)


def _persons_in(data: Path, manifest: Mapping[str, Any], key_dir: Path, system_id: str) -> list[str]:
    """The persons a finished file names (the delivery log lists them), read back from the file itself."""
    verify(data)
    rows = rows_of(
        read_csv(data, key_dir, system_id) if manifest.get("encryption") else iter([data.read_bytes()])
    )
    column = rows[0].index("addressee_number")
    return list(dict.fromkeys(r[column] for r in rows[1:] if r[column]))


def read_csv(path: Path, key_dir: Path, system_id: str) -> Iterator[bytes]:
    """A sealed file's CSV, opened with the system's key."""
    key = SystemKey.load(key_path(key_dir, system_id))
    with path.open("rb") as fh:
        yield from open_file(key, fh)


def write_changes(feed: Feed, target: Target, settings: FileSettings) -> RunReport:
    """The system's 差分 files up to now; then the files past retention are removed."""
    folder = _system_folder(settings, target)
    report = RunReport(target.system_id)
    name = cursor_name(CHANNEL, target.system_id)
    with fs.locked(folder):
        report.removed += fs.clean_unfinished(folder)
        _recover(feed, target, settings, folder, report)
        while True:
            after = feed.cursor(name)
            changes, position = _collect(feed, target, after, settings.max_rows)
            if not changes:
                if (
                    position > after
                ):  # only changes this system may not see: nothing to write, the cursor moves on
                    feed.set_cursor(name, position)
                break
            cursor: dict[str, int | None] = {"from": after, "to": position}
            done = write_file(folder, target, DIFF, changes, settings.key_dir, settings.now(), cursor)
            feed.delivered(target.system_id, done.persons, _items(target), CHANNEL, (name, position))
            report.written.append(done)
        report.removed += fs.remove_expired(folder, settings.now(), settings.retention_days)
    return report


def write_full(feed: Feed, target: Target, settings: FileSettings, channel: str = CHANNEL) -> RunReport:
    """The system's 全件 file (`full_extract`), logged as a delivery; expired files removed."""
    folder = _system_folder(settings, target)
    report = RunReport(target.system_id)
    with fs.locked(folder):
        report.removed += fs.clean_unfinished(folder)
        # The outbox head when the extract began: the records reflect the register at least as of that position.
        cursor: dict[str, int | None] = {"from": None, "to": feed.head()}
        rows = feed.full(target.system_id)
        done = write_file(folder, target, FULL, rows, settings.key_dir, settings.now(), cursor)
        feed.delivered(target.system_id, done.persons, _items(target), channel, None)
        report.written.append(done)
        report.removed += fs.remove_expired(folder, settings.now(), settings.retention_days)
    return report


def verify(path: Path) -> dict[str, Any]:
    """A file checked against its manifest (SHA-256 of the file as written); the manifest, or ValueError."""
    import json

    manifest = json.loads(Path(f"{path}{fs.MANIFEST_SUFFIX}").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != manifest["sha256"]:
        raise ValueError(f"SHA-256 がマニフェストと一致しません: {path.name}")
    return dict(manifest)


def rows_of(lines: Iterator[bytes]) -> list[list[str]]:
    """The records of a transfer CSV (for a department's check and the tests)."""
    import csv
    import io

    text = b"".join(lines).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))
