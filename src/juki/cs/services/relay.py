"""The CS's relay: pass after pass, the register's changes into the CS (intake) and the CS's notices out to the
prefecture server (delivery, 住基法30条の6).

The counter never waits for it: a filing commits to the register and its outbox whatever the 住基ネット does, and
the relay, on its own thread or in its own process (`juki cs serve`), catches up. A pass that fails (the CS's
database down, a broken link configuration) is logged — by the exception's class, never its text, which may
quote a value — and the next pass starts again from what was committed: intake is at-least-once and the
prefecture acknowledges a repeated notice (docs/cs.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from juki.cs.services import delivery, intake
from juki.cs.services.delivery import Backoff
from juki.cs.services.intake import EventKeyHolder
from juki.cs.services.ports import CsTransaction
from juki.cs.wire import PrefectureClient
from juki.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("juki.cs.relay")

# Opens the link to the prefecture for one pass (the mutual-TLS client of juki-net.json) and closes it after.
Connect = Callable[[], AbstractContextManager[PrefectureClient]]


@dataclass(frozen=True)
class RelayPass:
    """What one pass did: events new to the CS, and the notices' answers."""

    taken: int
    acknowledged: int = 0
    refused: int = 0
    unreachable: int = 0


class Relay:
    """Intake and delivery for one CS. Without `connect` (no link configured) notices stay queued."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        cs: CsTransaction,
        event_key: EventKeyHolder,
        city_code: str,
        connect: Connect | None = None,
        *,
        terminal: str = "cs-server",
        backoff: Backoff | None = None,
    ) -> None:
        self.uow_factory, self.cs, self.event_key, self.city_code = uow_factory, cs, event_key, city_code
        self.connect, self.terminal, self.backoff = connect, terminal, backoff
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RelayPass:
        """Take in every pending change, then deliver what may go now."""
        taken = intake.run_all(self.uow_factory, self.cs, self.event_key, self.city_code)
        if self.connect is None:
            return RelayPass(taken)
        with self.connect() as client:
            report = delivery.deliver(self.cs, client, self.terminal, self.backoff)
        return RelayPass(taken, len(report.acknowledged), len(report.refused), len(report.unreachable))

    def run_safely(self) -> RelayPass | None:
        """One pass; a failure is logged without its text (it may quote a value) and None returned."""
        try:
            return self.run_once()
        except Exception as exc:  # the next pass tries again: nothing is lost, the outbox keeps the changes
            log.error("CS relay pass failed: %s", type(exc).__name__)
            return None

    def run_until_stopped(self, interval: float) -> None:
        """Pass after pass, `interval` seconds apart, until `stop()` (or forever)."""
        while not self._stopping.is_set():
            done = self.run_safely()
            if done is not None and (done.taken or done.acknowledged or done.refused):
                log.info(
                    "CS relay: %d taken in, %d acknowledged, %d refused, %d waiting for the prefecture",
                    done.taken,
                    done.acknowledged,
                    done.refused,
                    done.unreachable,
                )
            self._stopping.wait(interval)

    def start(self, interval: float) -> None:
        """Run in a daemon thread of this process (`juki demo`)."""
        if self._thread is not None:
            raise RuntimeError("the CS relay is already running")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self.run_until_stopped, args=(interval,), name="juki-cs-relay", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for its pass to end."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
