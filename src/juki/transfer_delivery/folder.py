"""A department system's folder of transfer files: owner-only, written whole or not at all, kept for a while.

- The folders are 0700 and the files 0600 (the files hold personal data; the department's reader runs as the same
  service account or is given the files by the city's own transfer job).
- A file is written under a temporary name (`.<name>.tmp`), flushed to disk (fsync), and renamed; its manifest is
  renamed last, and the folder is fsynced: a CSV without its manifest is not finished, and a reader takes a file
  only once its manifest is there. A run that dies leaves temporary files and at most a CSV without a manifest,
  which the next run removes.
- One run at a time per system (an exclusive lock on `<folder>/.lock`).
- Files older than the retention period (by their manifest's `created_at`) are removed by the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

MANIFEST_SUFFIX = ".manifest.json"
TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"


class FolderBusy(Exception):
    """Another run is writing this system's files."""


def owner_only_dir(path: Path, enforce: bool = True) -> Path:
    """A folder made 0700; an existing one is made 0700 too unless `enforce` is off (the operator's own `--out`)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if enforce:
        os.chmod(path, 0o700)
    return path


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"別の実行がこの連携先のファイルを書いています: {folder}") from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def temp_path(folder: Path, name: str) -> Path:
    return folder / f"{TMP_PREFIX}{name}{TMP_SUFFIX}"


@contextlib.contextmanager
def new_file(folder: Path, name: str) -> Iterator[IO[bytes]]:
    """A temporary file (0600, created exclusively) that becomes `name` only by `publish`."""
    path = temp_path(folder, name)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a crashed run's leftover of the same name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_json(folder: Path, name: str, value: dict[str, Any]) -> None:
    with new_file(folder, name) as fh:
        fh.write((json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def publish(folder: Path, *names: str) -> None:
    """Rename the finished temporary files into place, in order (the manifest last), and make it durable."""
    for name in names:
        os.replace(temp_path(folder, name), folder / name)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def manifests(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.glob(f"*{MANIFEST_SUFFIX}")):
        try:
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue  # not ours, or damaged: left alone for a person to look at
    return found


def data_name(manifest_name: str) -> str:
    return manifest_name.removesuffix(MANIFEST_SUFFIX)


def clean_unfinished(folder: Path) -> list[str]:
    """Remove what a crashed run left: temporary files, and data files without a manifest."""
    removed = []
    for path in folder.iterdir():
        name = path.name
        unfinished = name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX) and name != ".lock"
        orphan = (
            not name.startswith(".")
            and not name.endswith(MANIFEST_SUFFIX)
            and not (folder / f"{name}{MANIFEST_SUFFIX}").exists()
        )
        if path.is_file() and (unfinished or orphan):
            path.unlink()
            removed.append(name)
    return removed


def remove_expired(folder: Path, now: datetime, days: int) -> list[str]:
    """Remove the files whose manifest is older than `days` days (the data file first, then its manifest)."""
    removed = []
    limit = now - timedelta(days=days)
    for path, manifest in manifests(folder):
        try:
            created = datetime.fromisoformat(str(manifest["created_at"]))
        except (KeyError, ValueError):
            continue
        if created < limit:
            data = folder / data_name(path.name)
            with contextlib.suppress(FileNotFoundError):
                data.unlink()
            path.unlink()
            removed.append(data.name)
    return removed
