"""Delivery: the queue to the prefecture server (住基法30条の6), per person strictly in order.

A person's first notice not yet acknowledged is the only one of theirs that may go: a later one waits while it is
unsent, waiting for a retry, or in the error queue. Other persons do not wait for them. A notice is marked `sent`
before it is handed to the client, so that a restart resends it; the prefecture acknowledges a repeat without
applying it twice (cs/wire.py).

The choice of what may go (`next_to_send`, `ready_in_order`) and the recording of an answer (`apply_answer`) are
also the manual fallback's (services/media.py, docs/cs-media.md): notices carried on media go by the same rule,
and their answers land in the queue the same way. While the CS sends on media, `paused` stops this pass before
each notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import takewhile

from juki.cs.services.ports import (
    ACKNOWLEDGED,
    ERROR,
    FINAL,
    QUEUED,
    SENT,
    CsStore,
    CsTransaction,
    Entry,
    LogLine,
)
from juki.cs.services.queue import is_death
from juki.cs.wire import Accepted, Notice, NoticeKind, PrefectureClient, Refused, Unreachable

SYSTEM_ID = "cs"  # the CS itself as the operator of what it does unattended (the CS log's 操作者ID)


@dataclass(frozen=True)
class Backoff:
    """Exponential, capped: the wait after the n-th failed attempt is first × 2^(n-1), at most `cap`."""

    first: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=30)

    def after(self, attempts: int) -> timedelta:
        wait: timedelta = self.first * (2 ** max(attempts - 1, 0))
        return min(wait, self.cap)


@dataclass
class DeliveryReport:
    acknowledged: list[int] = field(default_factory=list)  # entry numbers, in the order they went
    refused: list[int] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)


# Whether the link must not send now (the CS switched to media, services/media.py), asked in each notice's transaction.
Paused = Callable[[CsStore], bool]


def may_go(entry: Entry) -> bool:
    """A notice checked, numbered and not yet answered: waiting to go, or handed over without an answer."""
    return entry.state in (QUEUED, SENT) and entry.sequence is not None


def next_to_send(entries: Iterable[Entry]) -> Entry | None:
    """A person's notice that may go now (its retry time aside): the first not done, when it may go."""
    entry = next((e for e in entries if e.state not in FINAL), None)
    return entry if entry is not None and may_go(entry) else None


def ready_in_order(entries: Iterable[Entry]) -> list[Entry]:
    """What may go one after the other, each once the one before is accepted: `next_to_send` and the notices
    right after it that may go too (up to the first that may not: an error, a held change, one on media)."""
    return list(takewhile(may_go, (e for e in entries if e.state not in FINAL)))


def deliver(
    cs: CsTransaction,
    client: PrefectureClient,
    terminal: str,
    backoff: Backoff | None = None,
    now: datetime | None = None,
    paused: Paused | None = None,
) -> DeliveryReport:
    """One pass over every person with a notice waiting. `terminal` names this CS in its log (操作端末ID)."""
    report = DeliveryReport()
    with cs() as store:
        persons = store.persons_waiting()
    for person in persons:
        _deliver_person(cs, client, person, _Pass(terminal, backoff or Backoff(), now, report, paused))
    return report


@dataclass(frozen=True)
class _Pass:
    terminal: str
    backoff: Backoff
    now: datetime | None
    report: DeliveryReport
    paused: Paused | None = None


def _deliver_person(cs: CsTransaction, client: PrefectureClient, person: str, run: _Pass) -> None:
    while (notice := _take_next(cs, person, run)) is not None:
        entry_id, message = notice
        try:
            answer = client.send(message)
        except Unreachable:
            _record(cs, entry_id, None, run)
            return
        if not _record(cs, entry_id, answer, run):
            return


def _take_next(cs: CsTransaction, person: str, run: _Pass) -> tuple[int, Notice] | None:
    """The person's next notice, marked sent; None when it may not go now."""
    with cs() as store:
        if run.paused is not None and run.paused(store):
            return None
        entry = next_to_send(store.entries_of(person))
        now = run.now or store.now
        if entry is None:
            return None
        if entry.next_attempt_at is not None and entry.next_attempt_at > now:
            return None
        store.change_entry(entry.id, {"state": SENT, "attempts": entry.attempts + 1})
        _log(store, entry, "send", "sent", f"{entry.attempts + 1}回目の送信", run.terminal)
        return entry.id, notice_of(entry)


def notice_of(entry: Entry) -> Notice:
    code = entry.items.get("住民票コード") or ""
    assert entry.sequence is not None
    return Notice(entry.notice_id, NoticeKind(entry.kind), code, entry.sequence, dict(entry.items))


def _record(cs: CsTransaction, entry_id: int, answer: Accepted | Refused | None, run: _Pass) -> bool:
    """The answer (None: no usable answer) into the queue and the log; whether the person's next may go."""
    with cs() as store:
        entry = store.entry(entry_id)
        assert entry is not None
        if answer is not None:
            apply_answer(store, entry, answer, SYSTEM_ID, run.terminal)
            (run.report.acknowledged if isinstance(answer, Accepted) else run.report.refused).append(entry.id)
            return isinstance(answer, Accepted)
        if (
            entry.state != SENT
        ):  # taken to media meanwhile (services/media.py): it waits there, not for a retry
            return False
        wait = run.backoff.after(entry.attempts)
        retry_at = (run.now or store.now) + wait
        store.change_entry(entry.id, {"state": QUEUED, "next_attempt_at": retry_at, "error_code": "unreachable",
                                      "error_item": None, "error_message": "都道府県サーバから応答がありません"})  # fmt: skip
        _log(
            store,
            entry,
            "answer",
            "unreachable",
            f"{int(wait.total_seconds())}秒後に再送します",
            run.terminal,
        )
        run.report.unreachable.append(entry.id)
        return False


def apply_answer(
    store: CsStore, entry: Entry, answer: Accepted | Refused, staff_id: str, terminal: str
) -> None:
    """The prefecture's answer to a notice into the queue and the CS log, whichever way it came (the link, or
    media with the operator as `staff_id`): accepted → acknowledged, refused → the error queue with its code."""
    if isinstance(answer, Refused):
        store.change_entry(entry.id, {"state": ERROR, "error_code": answer.code, "error_item": answer.item,
                                      "error_message": _refusal_message(answer)})  # fmt: skip
        _log(store, entry, "answer", answer.code, _refusal_message(answer), terminal, staff_id)
        return
    store.change_entry(entry.id, {"state": ACKNOWLEDGED, "next_attempt_at": None, "error_code": None,
                                  "error_item": None, "error_message": None})  # fmt: skip
    result = "duplicate" if answer.duplicate else "accepted"
    _log(store, entry, "answer", result, "都道府県サーバが受け付けました", terminal, staff_id)
    if is_death(entry):  # seed II(2): 死亡による消除者は除く — out of the file's scope once notified
        store.leave_scope(entry.addressee_number)
        _log(
            store,
            entry,
            "scope",
            "left",
            "死亡の通知が受け付けられたため対象外としました",
            terminal,
            staff_id,
        )


def _refusal_message(answer: Refused) -> str:
    """Our own words: the prefecture's message may quote an item's value, which the CS never keeps in a log."""
    item = f"（{answer.item}）" if answer.item else ""
    return f"都道府県サーバが受け付けませんでした: {answer.code}{item}"


def _log(
    store: CsStore,
    entry: Entry,
    action: str,
    result: str,
    message: str,
    terminal: str,
    staff_id: str = SYSTEM_ID,
) -> None:
    store.log(
        LogLine(
            action,
            result,
            message,
            staff_id,
            terminal,
            entry.id,
            entry.addressee_number,
            entry.kind,
            entry.sequence,
        )
    )
