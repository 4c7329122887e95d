"""Push over NATS JetStream (beyond the standard's pull and files): each department system's changes, as
`changes_for` gives them to it, published to its own subject, at least once and in order.

- One stream (`JUKI_TRANSFER` by default) over `juki.transfer.>`; one subject per system, `juki.transfer.<id>`.
  The stream is file-backed, keeps messages `max_age` days, and deduplicates by `Nats-Msg-Id` within its
  duplicate window.
- A message is one change: its body is the change as JSON, exactly what the pull API gives the system; its
  `Nats-Msg-Id` is `<system_id>:<position>` and `Juki-Position` its outbox position. For a system whose policy
  includes the 個人番号 the body is sealed with the system's key (sealed.py, `Juki-Sealed: 1`): no number rests
  in the broker in plain.
- Each publish waits for the stream's acknowledgement, one after the other (so the subject holds the changes in
  order). After a page, the delivery is logged and the system's push cursor moved, in one transaction.
- After a crash or an outage the publisher starts again from its cursor. What it had published past the cursor is
  found first (the subject's last message in the stream, by its `Juki-Position`), recorded, and not sent again;
  anything sent twice all the same (a race with the broker) is dropped by the stream's deduplication. A
  department's consumer still treats a position it has seen as seen (at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from juki.transfer_delivery.feed import Feed, Target, cursor_name, position_of
from juki.transfer_delivery.sealed import SystemKey, check_system_id, load_or_create_key

log = logging.getLogger("juki.transfer.push")

CHANNEL = "push"
MSG_ID = "Nats-Msg-Id"
POSITION = "Juki-Position"
SEALED = "Juki-Sealed"


@dataclass(frozen=True)
class PushSettings:
    url: str
    key_dir: Path
    stream: str = "JUKI_TRANSFER"
    subject_prefix: str = "juki.transfer"
    duplicate_window_seconds: float = 120.0
    max_age_days: float = 7.0
    interval_seconds: float = 2.0
    page: int = 500
    ack_timeout_seconds: float = 5.0
    retry_seconds: tuple[float, ...] = field(default=(1.0, 2.0, 5.0, 10.0, 30.0))


def subject_of(settings: PushSettings, system_id: str) -> str:
    return f"{settings.subject_prefix}.{check_system_id(system_id)}"


def message_id(system_id: str, position: int) -> str:
    return f"{system_id}:{position}"


def body_of(change: dict[str, Any]) -> bytes:
    return json.dumps(change, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class Publisher:
    """Publishes every system's pending changes; `run` loops until stopped, `publish_once` does one pass."""

    def __init__(self, feed: Feed, settings: PushSettings, targets: Sequence[Target] | None = None) -> None:
        self.feed = feed
        self.settings = settings
        # The systems to serve: these, or every system of the policy. Each pass reads their policy afresh (an
        # amendment that adds or withdraws the 個人番号 applies from the next pass).
        self._systems = [t.system_id for t in targets] if targets is not None else None
        self._nc: Any = None
        self._js: Any = None
        self._keys: dict[str, SystemKey] = {}
        # Systems whose cursor is known to match the stream since the last (re)start: the stream is read only
        # after a start or a failure (the only times a publish can have outrun its record).
        self._in_step: set[str] = set()

    # --- the broker ----------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        import nats

        self._nc = await nats.connect(
            self.settings.url,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            error_cb=self._on_error,
            name="juki-transfer-push",
        )
        self._js = self._nc.jetstream(timeout=self.settings.ack_timeout_seconds)
        await self.ensure_stream()

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", type(exc).__name__)

    async def close(self) -> None:
        self._in_step.clear()
        if self._nc is not None:
            nc, self._nc, self._js = self._nc, None, None
            await nc.close()

    async def ensure_stream(self) -> None:
        """The stream, created when missing (an existing stream's configuration is the broker operator's)."""
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        try:
            await self._js.stream_info(self.settings.stream)
        except NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=self.settings.stream,
                    subjects=[f"{self.settings.subject_prefix}.>"],
                    storage=StorageType.FILE,
                    max_age=self.settings.max_age_days * 86400,
                    duplicate_window=self.settings.duplicate_window_seconds,
                )
            )

    # --- one pass ------------------------------------------------------------------------------------------------

    async def publish_once(self) -> int:
        """Publish what every system has pending; the number of messages the stream took."""
        if self._js is None:
            await self.connect()
        total = 0
        for target in await asyncio.to_thread(self._targets):
            try:
                total += await self.publish_system(target)
            except BaseException:
                self._in_step.discard(target.system_id)  # a publish may have outrun its record: read it back
                raise
        return total

    def _targets(self) -> list[Target]:
        if self._systems is None:
            return self.feed.targets()
        return [self.feed.target(system_id) for system_id in self._systems]

    async def publish_system(self, target: Target) -> int:
        name = cursor_name(CHANNEL, target.system_id)
        if target.system_id not in self._in_step:
            await self._resume(target, name)
            self._in_step.add(target.system_id)
        total = 0
        while True:
            after = await asyncio.to_thread(self.feed.cursor, name)
            page = await asyncio.to_thread(self.feed.changes, target.system_id, after, self.settings.page)
            if page.next <= after:
                return total
            for change in page.changes:
                total += await self._publish(target, change)
            persons = [str(c["addressee_number"]) for c in page.changes if c.get("addressee_number")]
            await asyncio.to_thread(
                self.feed.delivered,
                target.system_id,
                list(dict.fromkeys(persons)),
                _items(target),
                CHANNEL,
                (name, page.next),
            )

    async def _publish(self, target: Target, change: dict[str, Any]) -> int:
        subject = subject_of(self.settings, target.system_id)
        position = position_of(change)
        msg_id = message_id(target.system_id, position)
        body = body_of(change)
        if target.my_number:
            body = self._key(target.system_id).seal_message(body, subject, msg_id)
        headers = {MSG_ID: msg_id, POSITION: str(position), SEALED: "1" if target.my_number else "0"}
        ack = await self._js.publish(subject, body, stream=self.settings.stream, headers=headers)
        return 0 if ack.duplicate else 1

    async def _resume(self, target: Target, name: str) -> None:
        """What a previous run published past the cursor and did not record: record it now, send it not again."""
        from nats.js.errors import NotFoundError

        subject = subject_of(self.settings, target.system_id)
        try:
            last = await self._js.get_last_msg(self.settings.stream, subject)
        except NotFoundError:
            return
        published = int((last.headers or {}).get(POSITION, 0))
        after = await asyncio.to_thread(self.feed.cursor, name)
        if published <= after:
            return
        changes = await asyncio.to_thread(_changes_until, self.feed, target, after, published)
        persons = list(
            dict.fromkeys(str(c["addressee_number"]) for c in changes if c.get("addressee_number"))
        )
        await asyncio.to_thread(
            self.feed.delivered, target.system_id, persons, _items(target), CHANNEL, (name, published)
        )

    def _key(self, system_id: str) -> SystemKey:
        if system_id not in self._keys:
            self._keys[system_id] = load_or_create_key(self.settings.key_dir, system_id)
        return self._keys[system_id]

    # --- the loop ------------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Publish, wait, publish again, until `stop` is set; an outage is waited out with growing pauses."""
        failures = 0
        while not stop.is_set():
            try:
                await self.publish_once()
                failures, pause = 0, self.settings.interval_seconds
            except Exception as exc:  # the broker or the database away: retry from the cursor
                self._in_step.clear()
                retry = self.settings.retry_seconds
                pause = retry[min(failures, len(retry) - 1)]
                failures += 1
                log.warning("push failed (%s); retrying in %.0f s", type(exc).__name__, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
        await self.close()


def _items(target: Target) -> list[str]:
    return [*target.items, *(["my_number"] if target.my_number else [])]


def _changes_until(feed: Feed, target: Target, after: int, last: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    position = after
    while position < last:
        page = feed.changes(target.system_id, position, 500)
        if page.next <= position:
            break
        found += [c for c in page.changes if position_of(c) <= last]
        position = page.next
    return found
