"""The manual fallback of the notices to the prefecture (標準仕様書 j1090「一時的に手動送信へ切替」): when the link
is down for long, the CS operator switches the CS to sending on media, writes the notices that may go to a file
carried to the prefecture, and applies the prefecture's answers from the file it gives back (docs/cs-media.md).

- `switch`: link ⇄ media (kept in `cs_sending_modes`). While on media the relay sends no notice over the link
  (delivery's `paused`); intake goes on. Back on the link, delivery resumes where it stood.
- `export`: every notice that may go, by delivery's own choice (`delivery.ready_in_order`: a person's first not
  done and those right after it, never behind an error or a held change), into the file (the wire's JSON a line)
  with its manifest; each marked `on_media` in the same transaction, so that the link never sends it as well.
  The file holds every notice's 個人番号: it is recorded as a media output in the CS log and the register's
  operation log (operator, terminal, count, SHA-256, `my_number_shown`).
- `apply_answers`: the answers file verified whole against its manifest and against the export it answers (a
  tampered, truncated or foreign file is refused whole: nothing applied); then each answer lands as an answer
  over the link does (`delivery.apply_answer`): accepted or duplicate → acknowledged, refused → the error queue.
  A person's notices after one refused in the same file go back to `queued` (over the link they would not have
  gone). A notice the file does not answer stays on media.

Who may: the CS operator (`cs:operate`); the export also needs `my_number:reveal` (the file opens every number).
The CS itself (`CS_SYSTEM`) may not: carrying media is a person's act, and the logs name that person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from juki.cs.domain.media import (
    ANSWERS_MISMATCH,
    DUPLICATE,
    LINK,
    MEDIA,
    MODES,
    ON_MEDIA,
    REFUSED,
    UNKNOWN_EXPORT,
    Answer,
    Manifest,
    MediaFileError,
    Written,
)
from juki.cs.services.delivery import apply_answer, notice_of, ready_in_order
from juki.cs.services.ports import QUEUED, CsStore, CsTransaction, Entry, LogLine
from juki.cs.wire import Accepted, Refused
from juki.domain.errors import Conflict, InvalidField
from juki.policy.roles import CS_OPERATE, MY_NUMBER_REVEAL, Actor
from juki.services.audit import Fact, LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

MODE_WORDS = {LINK: "回線による送信", MEDIA: "媒体による送信"}


@dataclass(frozen=True)
class Mode:
    """How the CS sends now, since when and by whom (never switched: the link)."""

    mode: str = LINK
    since: datetime | None = None
    staff_id: str | None = None
    terminal: str | None = None


@dataclass(frozen=True)
class KeptExport:
    """A media export as the CS keeps it (append-only): each notice by entry, id, 住民票コード and 更新順番号."""

    at: datetime
    city_code: str
    file: str
    count: int
    sha256: str
    notices: list[dict[str, Any]]  # [{"entry", "notice_id", "resident_code", "sequence"}]
    staff_id: str
    terminal: str
    id: int | None = None


@dataclass(frozen=True)
class KeptAnswers:
    """An answers file applied, or refused by its code (append-only)."""

    at: datetime
    result: str  # ok, or the refusal's code
    file: str
    sha256: str | None
    export_id: int | None
    counts: dict[str, int]
    staff_id: str
    terminal: str


class MediaStore(Protocol):
    def mode(self) -> Mode: ...
    def switch(self, mode: str, staff_id: str, terminal: str) -> None: ...
    def keep_export(self, kept: KeptExport) -> int: ...
    def export_of(self, sha256: str) -> KeptExport | None: ...
    def keep_answers(self, kept: KeptAnswers) -> None: ...


# The media store in a CS store's transaction (adapters/media_tables.of).
MediaOf = Callable[[CsStore], MediaStore]


class Files(Protocol):
    """The files on disk (adapters/media_file.MediaFiles)."""

    def write_notices(
        self, folder: Path, notices: Iterable[Mapping[str, Any]], city_code: str, created_at: datetime
    ) -> Written: ...
    def remove(self, *paths: Path) -> None: ...
    def read_answers(self, manifest_path: Path, city_code: str) -> tuple[Manifest, list[Answer]]: ...


class UnknownMode(InvalidField):
    default_message = "送信の方法は link（回線）か media（媒体）です"
    default_field = "mode"


class ModeUnchanged(Conflict):
    code = "cs_sending_mode_unchanged"


class SendingByLink(Conflict):
    code = "cs_sending_by_link"
    default_message = "回線による送信中です。媒体による送信に切り替えてから出力してください"


class NothingToExport(Conflict):
    code = "media_nothing_to_export"
    default_message = "媒体で送る通知はありません（送信待ちの通知がないか、エラーの後ろで待っています）"


@dataclass(frozen=True)
class Status:
    """What the operator's page shows: the mode and how many notices wait on media for their answers."""

    mode: Mode
    on_media: int


@dataclass
class AnswersReport:
    acknowledged: list[int] = field(default_factory=list)  # entry numbers
    refused: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)  # after a refusal of the same person in the file
    skipped: list[int] = field(default_factory=list)  # no longer on media (answered before)

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.__dict__.items()}


# --- the mode ---------------------------------------------------------------------------------------------------


def by_media(store: CsStore, media_of: MediaOf) -> bool:
    """Whether the CS sends on media now (the relay and delivery ask it)."""
    return media_of(store).mode().mode == MEDIA


def status(cs: CsTransaction, media_of: MediaOf) -> Status:
    with cs() as store:
        return Status(media_of(store).mode(), store.state_counts().get(ON_MEDIA, 0))


def switch(
    uow_factory: UnitOfWorkFactory, cs: CsTransaction, media_of: MediaOf, actor: Actor, to: str
) -> None:
    """Send by link or by media from now on; logged in both logs."""
    if to not in MODES:
        raise UnknownMode()
    authorize(uow_factory, actor, CS_OPERATE, "cs:media_mode")
    with cs() as store:
        media = media_of(store)
        if media.mode().mode == to:
            raise ModeUnchanged(f"すでに{MODE_WORDS[to]}です")
        media.switch(to, actor.staff_id, actor.terminal)
        waiting = store.state_counts().get(ON_MEDIA, 0)
        message = f"{MODE_WORDS[to]}に切り替えました（媒体で引渡し済み・回答待ち{waiting}件）"
        store.log(LogLine("media_mode", to, message, actor.staff_id, actor.terminal))
    _register_log(
        uow_factory, actor, LogEntry("cs:media_mode", detail=message, facts={"mode": to, "on_media": waiting})
    )


# --- the export -------------------------------------------------------------------------------------------------


def export(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    media_of: MediaOf,
    files: Files,
    actor: Actor,
    city_code: str,
    folder: Path,
) -> Written:
    """Every notice that may go, in each person's order, into a file on `folder` (owner-only), each marked
    `on_media`; recorded as a media output. Refused while the CS sends by link, or when nothing may go."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:media_export")
    authorize(uow_factory, actor, MY_NUMBER_REVEAL, "cs:media_export")  # the file opens every notice's number
    written: Written | None = None
    try:
        with cs() as store:
            media = media_of(store)
            if media.mode().mode != MEDIA:
                raise SendingByLink()
            chosen = [
                e for person in store.persons_waiting() for e in ready_in_order(store.entries_of(person))
            ]
            if not chosen:
                raise NothingToExport()
            written = files.write_notices(
                folder, (notice_of(e).to_json() for e in chosen), city_code, store.now
            )
            message = _hand_over(store, media, chosen, written, actor)
    except BaseException:
        if written is not None:  # not committed: no file of 特定個人情報 that the queue does not know of
            files.remove(written.path, written.manifest_path)
        raise
    manifest = written.manifest
    facts: dict[str, Fact] = {"count": manifest.count, "sha256": manifest.sha256, "file": manifest.file}
    persons = sorted({e.addressee_number for e in chosen})
    entry = LogEntry("cs:media_export", persons, my_number_shown=True, detail=message, facts=facts)
    _register_log(uow_factory, actor, entry)
    return written


def _hand_over(store: CsStore, media: MediaStore, chosen: list[Entry], written: Written, actor: Actor) -> str:
    """The notices marked as handed over on media, the export kept, both in the CS log."""
    manifest = written.manifest
    for e in chosen:
        store.change_entry(e.id, {"state": ON_MEDIA, "next_attempt_at": None})
        store.log(LogLine("media_export", ON_MEDIA, "媒体で都道府県へ引き渡しました", actor.staff_id,
                          actor.terminal, e.id, e.addressee_number, e.kind, e.sequence))  # fmt: skip
    listed = [{"entry": e.id, "notice_id": e.notice_id, "resident_code": e.items.get("住民票コード"),
               "sequence": e.sequence} for e in chosen]  # fmt: skip
    media.keep_export(KeptExport(store.now, manifest.city_code, manifest.file, manifest.count, manifest.sha256,
                                 listed, actor.staff_id, actor.terminal))  # fmt: skip
    message = f"本人確認情報の通知（特定個人情報）を媒体へ出力: {manifest.file} {manifest.count}件 SHA-256 {manifest.sha256}"
    store.log(LogLine("media_export", "ok", message, actor.staff_id, actor.terminal))
    return message


# --- the answers ------------------------------------------------------------------------------------------------


def apply_answers(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    media_of: MediaOf,
    files: Files,
    actor: Actor,
    city_code: str,
    manifest_path: Path,
) -> AnswersReport:
    """The prefecture's answers file into the queue, or MediaFileError (kept and logged) with nothing applied."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:media_answers")
    try:
        manifest, answers = files.read_answers(manifest_path, city_code)
        with cs() as store:
            media = media_of(store)
            kept = _export_answered(media, manifest, answers)
            report = _apply(store, kept, answers, actor)
            media.keep_answers(KeptAnswers(store.now, "ok", manifest.file, manifest.sha256, kept.id,
                                           report.counts(), actor.staff_id, actor.terminal))  # fmt: skip
            message = _summary(manifest, report)
            store.log(LogLine("media_answers", "ok", message, actor.staff_id, actor.terminal))
    except MediaFileError as refused:
        _refused(uow_factory, cs, media_of, actor, manifest_path, refused)
        raise
    facts: dict[str, Fact] = {"sha256": manifest.sha256, **report.counts()}
    _register_log(uow_factory, actor, LogEntry("cs:media_answers", detail=message, facts=facts))
    return report


def _export_answered(media: MediaStore, manifest: Manifest, answers: list[Answer]) -> KeptExport:
    """The export the file answers; each answer names one of its notices, with its 住民票コード and 更新順番号,
    once — else the whole file is refused."""
    kept = media.export_of(manifest.answers_sha256 or "")
    if kept is None or kept.file != manifest.answers_file:
        raise MediaFileError(UNKNOWN_EXPORT, "この回答ファイルが答える媒体出力がありません")
    listed = {n["notice_id"]: (n["resident_code"], n["sequence"]) for n in kept.notices}
    seen: set[str] = set()
    for number, a in enumerate(answers, start=1):
        if listed.get(a.notice_id) != (a.resident_code, a.sequence) or a.notice_id in seen:
            raise MediaFileError(ANSWERS_MISMATCH, f"回答ファイルの{number}行目が出力した通知と一致しません")
        seen.add(a.notice_id)
    return kept


def _apply(store: CsStore, kept: KeptExport, answers: list[Answer], actor: Actor) -> AnswersReport:
    entry_of = {n["notice_id"]: int(n["entry"]) for n in kept.notices}
    report, refused_persons = AnswersReport(), set()
    for a in answers:
        entry = store.entry(entry_of[a.notice_id])
        if entry is None or entry.state != ON_MEDIA:
            report.skipped.append(entry_of[a.notice_id])
            continue
        if a.result == REFUSED and entry.addressee_number in refused_persons:
            store.change_entry(entry.id, {"state": QUEUED})
            store.log(LogLine("answer", "requeued", "先の通知が受け付けられなかったため送信待ちに戻しました",
                              actor.staff_id, actor.terminal, entry.id, entry.addressee_number, entry.kind,
                              entry.sequence))  # fmt: skip
            report.requeued.append(entry.id)
            continue
        answer: Accepted | Refused = (
            Refused(a.code or "", a.item, "") if a.result == REFUSED else Accepted(a.result == DUPLICATE)
        )
        apply_answer(store, entry, answer, actor.staff_id, actor.terminal)
        if a.result == REFUSED:
            refused_persons.add(entry.addressee_number)
            report.refused.append(entry.id)
        else:
            report.acknowledged.append(entry.id)
    return report


def _summary(manifest: Manifest, report: AnswersReport) -> str:
    return (
        f"媒体による回答を反映: {manifest.file} 受理{len(report.acknowledged)}件、エラー{len(report.refused)}件、"
        f"送信待ちに戻す{len(report.requeued)}件、反映済み{len(report.skipped)}件"
    )


def _refused(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    media_of: MediaOf,
    actor: Actor,
    manifest_path: Path,
    refused: MediaFileError,
) -> None:
    """A file refused whole: kept and logged by its code (the path's name only: a folder may name a person)."""
    with cs() as store:
        media_of(store).keep_answers(KeptAnswers(store.now, refused.code, manifest_path.name[:200], None, None,
                                                 {}, actor.staff_id, actor.terminal))  # fmt: skip
        store.log(LogLine("media_answers", refused.code, refused.message, actor.staff_id, actor.terminal))
    entry = LogEntry("cs:media_answers", result=refused.code, detail=refused.message)
    _register_log(uow_factory, actor, entry)


def _register_log(uow_factory: UnitOfWorkFactory, actor: Actor, entry: LogEntry) -> None:
    with uow_factory() as uow:
        uow.log(actor, entry)
        uow.commit()
