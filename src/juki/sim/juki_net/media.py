"""The prefecture's side of the manual fallback (標準仕様書 j1090, docs/cs-media.md): a city's notices file brought
on media, applied to the simulator's store notice by notice, in order, with the same checks as over the link
(`checks.parse`, `JukiNetStore.receive`), and the answers file written beside it with its own manifest.

The file is verified whole against its manifest first (count of whole lines, SHA-256): a tampered or truncated
file is refused whole, nothing applied, no answers written. The answers hold no item's value: notice id,
住民票コード, 更新順番号 and accepted / duplicate, or the refusal's code and item. The log says the same as the
link's: the notice id, kind, sequence and outcome — never a value nor the 住民票コード.

Reading and writing are this module's own (not the CS's adapter): a stand-in for the prefecture checks the CS's
file as the prefecture would, so a fault in the CS's writer is not hidden by sharing it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from juki.cs.domain.media import (
    ACCEPTED,
    ANSWERS_FORMAT,
    DUPLICATE,
    MANIFEST_INVALID,
    NOTICES_FORMAT,
    REFUSED,
    Answer,
    Manifest,
    MediaFileError,
    check_totals,
    manifest_from_json,
)
from juki.sim.juki_net.checks import Problem, format_error, parse
from juki.sim.juki_net.store import JukiNetStore

log = logging.getLogger("juki.sim.juki_net.media")

MANIFEST_SUFFIX = ".manifest.json"
ANSWERS_EXIST = "media_answers_exist"


@dataclass(frozen=True)
class Imported:
    answers_path: Path
    manifest_path: Path
    counts: dict[str, int]


def import_file(data: Path, given: Path) -> Imported:
    """The notices file (or its manifest) `given` applied to the simulator in `data`; its answers written beside it.
    Raises MediaFileError when the file is refused whole."""
    manifest_path = given if given.name.endswith(MANIFEST_SUFFIX) else _manifest_of(given)
    manifest = _manifest(manifest_path)
    path = manifest_path.parent / manifest.file
    body = _verified(path, manifest)
    stem = manifest.file.removesuffix(".jsonl")
    answers_path = path.with_name(f"{stem}.answers.jsonl")
    answers_manifest = path.with_name(f"{stem}.answers{MANIFEST_SUFFIX}")
    if answers_path.exists() or answers_manifest.exists():
        raise MediaFileError(ANSWERS_EXIST, "この通知ファイルの回答ファイルはすでにあります（取込み済み）")
    store = JukiNetStore(data)
    try:
        answers = [_receive(store, line) for line in body.decode("utf-8").splitlines()]
    finally:
        store.close()
    _write_answers(answers, answers_path, answers_manifest, manifest)
    counts = {r: sum(1 for a in answers if a.result == r) for r in (ACCEPTED, DUPLICATE, REFUSED)}
    return Imported(answers_path, answers_manifest, counts)


def _manifest_of(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + MANIFEST_SUFFIX)


def _manifest(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MediaFileError(MANIFEST_INVALID, "媒体ファイルの管理情報を読めません") from None
    return manifest_from_json(data, NOTICES_FORMAT)


def _verified(path: Path, manifest: Manifest) -> bytes:
    try:
        body = path.read_bytes()
    except OSError:
        raise MediaFileError(MANIFEST_INVALID, "管理情報が示す媒体ファイルを読めません") from None
    check_totals(
        manifest, body.count(b"\n"), hashlib.sha256(body).hexdigest(), body.endswith(b"\n") or not body
    )
    return body


def _receive(store: JukiNetStore, line: str) -> Answer:
    """One notice as `POST /prefecture/v1/notices` takes it: parsed, checked, applied or refused."""
    try:
        body = json.loads(line)
    except ValueError:
        body = None
    notice_id = str(body.get("notice_id") or "")[:64] if isinstance(body, dict) else ""
    code = body.get("resident_code") if isinstance(body, dict) else None
    sequence = body.get("sequence") if isinstance(body, dict) else None
    try:
        if body is None:
            raise format_error(None, "通知は JSON のオブジェクトでなければなりません")
        notice = parse(body)
        duplicate = store.receive(notice)
    except Problem as problem:
        log.info("media notice %s refused: %s (%s)", notice_id, problem.code, problem.item or "-")
        seq = sequence if isinstance(sequence, int) and not isinstance(sequence, bool) else 0
        return Answer(notice_id, str(code or ""), seq, REFUSED, problem.code, problem.item)
    log.info("media notice %s (%s, sequence %d) %s", notice.notice_id[:64], notice.kind.value, notice.sequence,
             "acknowledged again" if duplicate else "applied")  # fmt: skip
    return Answer(
        notice.notice_id, notice.resident_code, notice.sequence, DUPLICATE if duplicate else ACCEPTED
    )


def _write_answers(answers: list[Answer], path: Path, manifest_path: Path, of: Manifest) -> None:
    body = "".join(json.dumps(a.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n" for a in answers)
    data = body.encode("utf-8")
    manifest = Manifest(ANSWERS_FORMAT, of.city_code, datetime.now(UTC).isoformat(), path.name, len(answers),
                        hashlib.sha256(data).hexdigest(), of.file, of.sha256)  # fmt: skip
    _write(path, data)
    _write(manifest_path, json.dumps(manifest.to_json(), ensure_ascii=False, indent=2).encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(data)
