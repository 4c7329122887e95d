"""The manual fallback of the notices to the prefecture (標準仕様書 j1090「一時的に手動送信へ切替」): the files the
CS and the prefecture exchange on media, and their checks. Pure: no file, no database (adapters/media_file.py and
the simulator's media.py read and write them); docs/cs-media.md describes them for people.

- **The notices file** (`….jsonl`): one notice a line, exactly the wire's JSON (`wire.Notice.to_json`), UTF-8, LF,
  each person's notices in their order. It holds the 個人番号 (item 13): a 特定個人情報 file.
- **The answers file** (`….answers.jsonl`): one answer a line — notice_id, resident_code, sequence, and
  `accepted` / `duplicate`, or `refused` with the prefecture's code and item. No item's value.
- **Their manifests** (`….manifest.json`, `….answers.manifest.json`): format and version, the city, when made, the
  file's name, its line count and the SHA-256 of its bytes; an answers manifest also names the notices file it
  answers and that file's SHA-256. A file that does not match its manifest is refused whole by a stable code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from juki.cs.wire import ITEMS

# How the CS sends its notices (cs_sending_modes): over the link (mutual TLS), or on media by hand.
LINK, MEDIA = "link", "media"
MODES = (LINK, MEDIA)
# The queue's state of a notice written to media and not yet answered (docs/cs-media.md): the link never sends
# it, the person's later notices wait behind it as behind one `sent`.
ON_MEDIA = "on_media"

NOTICES_FORMAT = "juki-cs-media-notices"
ANSWERS_FORMAT = "juki-prefecture-media-answers"
FORMAT_VERSION = 1

# Answers.
ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
RESULTS = (ACCEPTED, DUPLICATE, REFUSED)

# Refusal codes: stable (docs/cs-media.md).
MANIFEST_INVALID = "media_manifest_invalid"
COUNT_MISMATCH = "media_count_mismatch"
TAMPERED = "media_file_tampered"
MALFORMED = "media_file_malformed"
UNKNOWN_EXPORT = "media_answers_unknown_export"
ANSWERS_MISMATCH = "media_answers_mismatch"

_CODE = re.compile(r"[a-z_]{1,40}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CITY = re.compile(r"\d{6}")


class MediaFileError(Exception):
    """A media file or manifest refused whole: `code` is stable, the message Japanese and free of any value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Manifest:
    format: str  # NOTICES_FORMAT or ANSWERS_FORMAT
    city_code: str
    created_at: str  # ISO 8601, UTC
    file: str  # the file's name, beside the manifest
    count: int  # lines
    sha256: str  # of the file's bytes
    answers_file: str | None = None  # an answers manifest: the notices file it answers
    answers_sha256: str | None = None  # … and that file's SHA-256

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": self.format,
            "format_version": FORMAT_VERSION,
            "city_code": self.city_code,
            "created_at": self.created_at,
            "file": self.file,
            "count": self.count,
            "sha256": self.sha256,
        }
        if self.format == ANSWERS_FORMAT:
            data |= {"notices_file": self.answers_file, "notices_sha256": self.answers_sha256}
        return data


@dataclass(frozen=True)
class Written:
    """A file and its manifest, written side by side."""

    manifest: Manifest
    path: Path
    manifest_path: Path


def manifest_from_json(data: object, format: str, city_code: str | None = None) -> Manifest:
    """The manifest of a file of `format` (of `city_code`, when given), or MediaFileError(MANIFEST_INVALID)."""
    if not isinstance(data, dict):
        raise _invalid("JSONオブジェクトではありません")
    if data.get("format") != format or data.get("format_version") != FORMAT_VERSION:
        raise _invalid("形式または版が違います")
    city = data.get("city_code")
    if (
        not isinstance(city, str)
        or not _CITY.fullmatch(city)
        or (city_code is not None and city != city_code)
    ):
        raise _invalid("市町村コードが違います")
    count, sha, file, created = (
        data.get("count"),
        data.get("sha256"),
        data.get("file"),
        data.get("created_at"),
    )
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _invalid("件数が正しくありません")
    if not _is_sha256(sha) or not _is_name(file):
        raise _invalid("SHA-256またはファイル名が正しくありません")
    if not isinstance(created, str) or not created:
        raise _invalid("作成日時がありません")
    answers_file = answers_sha = None
    if format == ANSWERS_FORMAT:
        answers_file, answers_sha = data.get("notices_file"), data.get("notices_sha256")
        if not _is_sha256(answers_sha) or not _is_name(answers_file):
            raise _invalid("回答する通知ファイルの名前またはSHA-256が正しくありません")
    return Manifest(
        format, city, created, str(file), count, str(sha), _text(answers_file), _text(answers_sha)
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA256.fullmatch(value))


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(_FILE_NAME.fullmatch(value))


def _invalid(why: str) -> MediaFileError:
    return MediaFileError(MANIFEST_INVALID, f"媒体ファイルの管理情報が正しくありません: {why}")


def check_totals(manifest: Manifest, count: int, sha256: str, ends_whole: bool) -> None:
    """A file against its manifest once read: as many whole lines, the same bytes — else refused whole."""
    if count != manifest.count or not ends_whole:
        raise MediaFileError(
            COUNT_MISMATCH,
            f"媒体ファイルの件数が管理情報と違います（{count}件、管理情報では{manifest.count}件）",
        )
    if sha256 != manifest.sha256:
        raise MediaFileError(TAMPERED, "媒体ファイルのSHA-256が管理情報と一致しません（改ざんまたは破損）")


# --- answers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """The prefecture's answer to one notice on media: never an item's value."""

    notice_id: str
    resident_code: str
    sequence: int
    result: str  # accepted, duplicate, refused
    code: str | None = None  # a refusal's code (the wire's: out_of_order, format_error …)
    item: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "notice_id": self.notice_id,
            "resident_code": self.resident_code,
            "sequence": self.sequence,
            "result": self.result,
        }
        if self.result == REFUSED:
            data |= {"code": self.code, "item": self.item}
        return data


def answer_from_json(data: object, line: int) -> Answer:
    """One line of an answers file, or MediaFileError(MALFORMED) naming the line. A refusal's code is a code and
    its item an item's name: nothing else of the file reaches the error queue."""
    if not isinstance(data, dict):
        raise _malformed(line)
    notice_id, code, sequence, result = (
        data.get(k) for k in ("notice_id", "resident_code", "sequence", "result")
    )
    if not isinstance(notice_id, str) or not isinstance(code, str) or not isinstance(result, str):
        raise _malformed(line)
    if result not in RESULTS or not isinstance(sequence, int) or isinstance(sequence, bool):
        raise _malformed(line)
    if result != REFUSED:
        return Answer(notice_id, code, sequence, result)
    refusal, item = data.get("code"), data.get("item")
    if (
        not isinstance(refusal, str)
        or not _CODE.fullmatch(refusal)
        or (item is not None and item not in ITEMS)
    ):
        raise _malformed(line)
    return Answer(notice_id, code, sequence, result, refusal, item if isinstance(item, str) else None)


def _malformed(line: int) -> MediaFileError:
    return MediaFileError(MALFORMED, f"回答ファイルの{line}行目が回答の形式ではありません")
