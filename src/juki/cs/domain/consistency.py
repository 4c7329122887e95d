"""The 整合性確認 (標準仕様書 j1100) between the city's CS and the prefecture server: the file both sides exchange
and how two such files are compared. Pure: no file, no database (adapters/consistency_file.py writes and reads).

The file is the whole 本人確認情報ファイル in the file's scope, as CSV (RFC 4180, UTF-8 without a BOM, CRLF):

- a header row of the 36 item names of `wire.ITEMS`, in that order;
- one row a person, in 住民票コード order, each code once, every row 36 fields;
- a value is a string; an empty field is null (the 本人確認情報 carries no empty string: an empty one is
  written, and read, as null).

Its manifest (JSON) says what the file must be: format and version, the city, when it was made, the row count,
the SHA-256 of the CSV's bytes and the item list. A file that does not match its manifest is refused whole, by a
stable code; nothing is compared. Messages name rows and items, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juki.cs.wire import ITEMS

FORMAT = "juki-honnin-kakunin-file"
FORMAT_VERSION = 1
RESIDENT_CODE = "住民票コード"
SEQUENCE = "更新順番号"
MISSING = "(登録なし)"  # the item of a person one side does not hold

# Kinds of difference.
ONLY_OURS = "only_ours"  # the CS holds the person, the prefecture does not
ONLY_THEIRS = "only_theirs"  # the prefecture holds a person of the city that the CS does not
ITEM_DIFFERS = "item_differs"

# Refusal codes: stable (docs/cs-consistency.md).
MANIFEST_INVALID = "consistency_manifest_invalid"
HEADER_WRONG = "consistency_file_header"
MALFORMED = "consistency_file_malformed"
TRUNCATED = "consistency_file_truncated"
TAMPERED = "consistency_file_tampered"

Row = dict[str, str | None]


class ConsistencyFileError(Exception):
    """A file or manifest refused: `code` is stable, the message Japanese and free of any value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Manifest:
    city_code: str
    created_at: str  # ISO 8601, UTC
    file: str  # the CSV's file name, beside the manifest
    rows: int
    sha256: str
    items: tuple[str, ...] = ITEMS
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "city_code": self.city_code,
            "created_at": self.created_at,
            "file": self.file,
            "rows": self.rows,
            "sha256": self.sha256,
            "items": list(self.items),
        }


@dataclass(frozen=True)
class Written:
    """A file and its manifest, written side by side."""

    manifest: Manifest
    csv_path: Path
    manifest_path: Path


def manifest_from_json(data: object, city_code: str) -> Manifest:
    """The manifest of `city_code`'s file, or ConsistencyFileError(MANIFEST_INVALID) naming what is wrong."""
    if not isinstance(data, dict):
        raise _invalid("JSONオブジェクトではありません")
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise _invalid("形式または版が違います")
    if data.get("city_code") != city_code:
        raise _invalid("市町村コードが違います")
    if tuple(data.get("items") or ()) != ITEMS:
        raise _invalid("項目の一覧が本人確認情報の36項目ではありません")
    rows, sha, file, created = data.get("rows"), data.get("sha256"), data.get("file"), data.get("created_at")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise _invalid("件数が正しくありません")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise _invalid("SHA-256が正しくありません")
    if not isinstance(file, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", file):
        raise _invalid("ファイル名が正しくありません")
    if not isinstance(created, str) or not created:
        raise _invalid("作成日時がありません")
    return Manifest(city_code, created, file, rows, sha)


def _invalid(why: str) -> ConsistencyFileError:
    return ConsistencyFileError(MANIFEST_INVALID, f"整合性確認ファイルの管理情報が正しくありません: {why}")


# --- rows -----------------------------------------------------------------------------------------------------


def row_of(items: Mapping[str, str | None]) -> list[str | None]:
    """A person's items as a row: the 36 in wire order (the csv writer writes a null as an empty field)."""
    return list(map(items.get, ITEMS))


def items_of(fields: list[str]) -> Row:
    return {item: value or None for item, value in zip(ITEMS, fields, strict=True)}


def check_header(fields: list[str] | None) -> None:
    if fields is None or tuple(fields) != ITEMS:
        raise ConsistencyFileError(
            HEADER_WRONG, "整合性確認ファイルの見出し行が本人確認情報の36項目ではありません"
        )


def check_row(number: int, fields: list[str], previous_code: str | None) -> str:
    """A row's shape and order (number: 1 for the first row after the header); its 住民票コード."""
    if len(fields) != len(ITEMS):
        raise ConsistencyFileError(
            MALFORMED, f"整合性確認ファイルの{number}行目の項目数が{len(fields)}です（36項目）"
        )
    code = fields[0]
    if not code:
        raise ConsistencyFileError(MALFORMED, f"整合性確認ファイルの{number}行目に住民票コードがありません")
    if previous_code is not None and code <= previous_code:
        raise ConsistencyFileError(
            MALFORMED, f"整合性確認ファイルの{number}行目が住民票コードの順でないか重複しています"
        )
    return code


def check_totals(manifest: Manifest, rows: int, sha256: str, ends_whole: bool) -> None:
    """The file against its manifest once read: ends with a whole row, as many rows, the same bytes."""
    if not ends_whole or rows < manifest.rows:
        raise ConsistencyFileError(
            TRUNCATED, f"整合性確認ファイルが途中で切れています（{rows}件、管理情報では{manifest.rows}件）"
        )
    if rows > manifest.rows:
        raise ConsistencyFileError(
            TAMPERED,
            f"整合性確認ファイルの件数が管理情報と違います（{rows}件、管理情報では{manifest.rows}件）",
        )
    if sha256 != manifest.sha256:
        raise ConsistencyFileError(
            TAMPERED, "整合性確認ファイルのSHA-256が管理情報と一致しません（改ざんまたは破損）"
        )


# --- the comparison -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One person and item that differ, or a person one side lacks (item `(登録なし)`). Never a value."""

    resident_code: str
    item: str
    kind: str
    sequence: str | None = None  # our 更新順番号 of the person when we hold them: what the queueing rechecks

    def to_json(self) -> dict[str, str]:
        return {"resident_code": self.resident_code, "item": self.item, "kind": self.kind}


def compare(ours: Iterable[Row], theirs: Iterable[Row]) -> Iterator[Difference]:
    """Both files' rows, each in 住民票コード order (checked when read), merged: every person either side holds,
    each differing item in wire order. Streams: neither file is held in memory."""
    mine, other = iter(ours), iter(theirs)
    a, b = next(mine, None), next(other, None)
    while a is not None or b is not None:
        if b is None or (a is not None and _code(a) < _code(b)):
            assert a is not None
            yield Difference(_code(a), MISSING, ONLY_OURS, a.get(SEQUENCE))
            a = next(mine, None)
        elif a is None or _code(b) < _code(a):
            yield Difference(_code(b), MISSING, ONLY_THEIRS)
            b = next(other, None)
        else:
            yield from item_differences(a, b)
            a, b = next(mine, None), next(other, None)


def _code(row: Row) -> str:
    return row[RESIDENT_CODE] or ""


def item_differences(ours: Row, theirs: Row) -> list[Difference]:
    code, sequence = _code(ours), ours.get(SEQUENCE)
    return [
        Difference(code, item, ITEM_DIFFERS, sequence)
        for item in ITEMS
        if (ours.get(item) or None) != (theirs.get(item) or None)
    ]
