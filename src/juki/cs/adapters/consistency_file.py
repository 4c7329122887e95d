"""The 整合性確認 file on disk (format: cs/domain/consistency.py; docs/cs-consistency.md): written, read, verified.

The file holds every person's 個人番号: it is a 特定個人情報ファイル (番号法2条9項). It is created owner-only
(0600), never over an existing file (O_EXCL), in a folder created owner-only (0700); the manifest beside it holds
no personal data but is written the same way. Rows are streamed: neither writing nor reading holds the file in
memory, and the SHA-256 is computed over the bytes as they are written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from juki.cs.domain.consistency import (
    MALFORMED,
    MANIFEST_INVALID,
    ConsistencyFileError,
    Manifest,
    Row,
    Written,
    check_header,
    check_row,
    check_totals,
    items_of,
    manifest_from_json,
    row_of,
)
from juki.cs.wire import ITEMS

CHUNK_ROWS = 5000
READ_BYTES = 1 << 20
OWNER_ONLY = 0o600
LINE_END = "\r\n"  # RFC 4180


def names(city_code: str, created_at: datetime) -> tuple[str, str]:
    stem = f"honnin-kakunin-{city_code}-{created_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
    return f"{stem}.csv", f"{stem}.manifest.json"


def _create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)


def write(
    folder: Path, rows: Iterable[Mapping[str, str | None]], city_code: str, created_at: datetime
) -> Written:
    """The CSV and its manifest in `folder`; `rows` in 住民票コード order, items with the 個人番号 opened."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    csv_name, manifest_name = names(city_code, created_at)
    csv_path, manifest_path = folder / csv_name, folder / manifest_name
    fd = _create(csv_path)  # refuses an existing file: nothing of it is touched
    try:
        count, sha256 = _write_rows(fd, rows)
    except BaseException:
        csv_path.unlink(missing_ok=True)  # no half file of 特定個人情報 left behind
        raise
    manifest = Manifest(city_code, created_at.astimezone(UTC).isoformat(), csv_name, count, sha256)
    with os.fdopen(_create(manifest_path), "w", encoding="utf-8") as out:
        json.dump(manifest.to_json(), out, ensure_ascii=False, indent=2)
    return Written(manifest, csv_path, manifest_path)


def _write_rows(fd: int, rows: Iterable[Mapping[str, str | None]]) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=LINE_END)
        writer.writerow(ITEMS)
        for items in rows:
            writer.writerow(row_of(items))
            count += 1
            if count % CHUNK_ROWS == 0:
                _flush(buffer, out, digest)
        _flush(buffer, out, digest)
    return count, digest.hexdigest()


def _flush(buffer: io.StringIO, out: io.BufferedWriter, digest: hashlib._Hash) -> None:
    data = buffer.getvalue().encode("utf-8")
    digest.update(data)
    out.write(data)
    buffer.seek(0)
    buffer.truncate()


def write_bytes(path: Path, data: bytes) -> None:
    """A file received (the prefecture's copy), owner-only like our own."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with os.fdopen(_create(path), "wb") as out:
        out.write(data)


# --- reading --------------------------------------------------------------------------------------------------


def read_manifest(path: Path, city_code: str) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConsistencyFileError(MANIFEST_INVALID, "整合性確認ファイルの管理情報を読めません") from None
    return manifest_from_json(data, city_code)


def verify(csv_path: Path, manifest: Manifest) -> None:
    """The whole file against its manifest (ends with a whole row, header, every row's shape and order, the row
    count, the SHA-256), or ConsistencyFileError: a file refused is not compared at all."""
    ends_whole = _ends_whole(csv_path)
    if not ends_whole:
        check_totals(manifest, 0, "", ends_whole)
    count, previous = 0, None
    for number, fields in enumerate(_fields(csv_path), start=1):
        previous = check_row(number, fields, previous)
        count = number
    check_totals(manifest, count, _sha256(csv_path), ends_whole)


def rows(csv_path: Path) -> Iterator[Row]:
    """The rows of a verified file, as items (null for an empty field)."""
    for fields in _fields(csv_path):
        yield items_of(fields)


def _fields(csv_path: Path) -> Iterator[list[str]]:
    try:
        with csv_path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, strict=True)
            check_header(next(reader, None))
            yield from reader
    except csv.Error:
        raise ConsistencyFileError(MALFORMED, "整合性確認ファイルがCSVとして読めません") from None
    except UnicodeDecodeError:
        raise ConsistencyFileError(MALFORMED, "整合性確認ファイルがUTF-8ではありません") from None


def _ends_whole(csv_path: Path) -> bool:
    with csv_path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def scratch() -> Iterator[Path]:
    """An owner-only folder for the files of one run, removed with whatever is in it afterwards."""
    with tempfile.TemporaryDirectory(prefix="juki-consistency-") as folder:
        os.chmod(folder, 0o700)
        yield Path(folder)


class ConsistencyFiles:
    """This module as the 整合性確認 service's `Files` port."""

    write = staticmethod(write)
    read_manifest = staticmethod(read_manifest)
    verify = staticmethod(verify)
    rows = staticmethod(rows)
    scratch = staticmethod(scratch)
