"""The media files on disk (format: cs/domain/media.py; docs/cs-media.md): the CS writes the notices file and reads
the prefecture's answers.

The notices file holds every notice's 個人番号: a 特定個人情報 file (番号法2条9項). It is created owner-only (0600),
never over an existing file (O_EXCL), in a folder created owner-only (0700); the manifest beside it holds no
personal data but is written the same way. The SHA-256 is computed over the bytes as they are written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from juki.cs.domain.media import (
    ANSWERS_FORMAT,
    MALFORMED,
    MANIFEST_INVALID,
    NOTICES_FORMAT,
    Answer,
    Manifest,
    MediaFileError,
    Written,
    answer_from_json,
    check_totals,
    manifest_from_json,
)

OWNER_ONLY = 0o600
READ_BYTES = 1 << 20
MANIFEST_SUFFIX = ".manifest.json"


def stem(city_code: str, created_at: datetime) -> str:
    return f"media-notices-{city_code}-{created_at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"


def _create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)


def write_notices(
    folder: Path, notices: Iterable[Mapping[str, Any]], city_code: str, created_at: datetime
) -> Written:
    """The notices (the wire's JSON, in order) as one line each, and the manifest beside them."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = stem(city_code, created_at)
    path, manifest_path = folder / f"{name}.jsonl", folder / f"{name}{MANIFEST_SUFFIX}"
    digest, count = hashlib.sha256(), 0
    fd = _create(path)  # refuses an existing file: nothing of it is touched
    try:
        with os.fdopen(fd, "wb") as out:
            for notice in notices:
                line = (json.dumps(notice, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                digest.update(line)
                out.write(line)
                count += 1
        manifest = Manifest(NOTICES_FORMAT, city_code, created_at.astimezone(UTC).isoformat(), path.name, count,
                            digest.hexdigest())  # fmt: skip
        with os.fdopen(_create(manifest_path), "w", encoding="utf-8") as m:
            json.dump(manifest.to_json(), m, ensure_ascii=False, indent=2)
    except BaseException:
        remove(path, manifest_path)  # no half file of 特定個人情報 left behind
        raise
    return Written(manifest, path, manifest_path)


def remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def manifest_path_of(path: Path) -> Path:
    """A manifest given, or the file it describes (`x.jsonl` → `x.manifest.json`)."""
    if path.name.endswith(MANIFEST_SUFFIX):
        return path
    return path.with_name(path.name.removesuffix(".jsonl") + MANIFEST_SUFFIX)


def read_manifest(path: Path, format: str, city_code: str | None) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MediaFileError(MANIFEST_INVALID, "媒体ファイルの管理情報を読めません") from None
    return manifest_from_json(data, format, city_code)


def verify(path: Path, manifest: Manifest) -> None:
    """The whole file against its manifest (whole lines, their count, the SHA-256), or MediaFileError."""
    digest, count, last = hashlib.sha256(), 0, b"\n"
    try:
        with path.open("rb") as f:
            while chunk := f.read(READ_BYTES):
                digest.update(chunk)
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        raise MediaFileError(MANIFEST_INVALID, "管理情報が示す媒体ファイルを読めません") from None
    check_totals(manifest, count, digest.hexdigest(), last == b"\n")


def lines(path: Path) -> Iterator[tuple[int, object]]:
    """The JSON of each line of a verified file, numbered from 1; MediaFileError(MALFORMED) for one that is not."""
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                yield number, json.loads(line)
            except ValueError:
                raise MediaFileError(MALFORMED, f"媒体ファイルの{number}行目がJSONではありません") from None


def read_answers(manifest_path: Path, city_code: str) -> tuple[Manifest, list[Answer]]:
    """The prefecture's answers, verified whole against their manifest before any is read."""
    manifest = read_manifest(manifest_path, ANSWERS_FORMAT, city_code)
    path = manifest_path.parent / manifest.file
    verify(path, manifest)
    try:
        return manifest, [answer_from_json(data, n) for n, data in lines(path)]
    except UnicodeDecodeError:
        raise MediaFileError(MALFORMED, "回答ファイルがUTF-8ではありません") from None


class MediaFiles:
    """This module as the media service's `Files` port."""

    write_notices = staticmethod(write_notices)
    remove = staticmethod(remove)
    read_answers = staticmethod(read_answers)
