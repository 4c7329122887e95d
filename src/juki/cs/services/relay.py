"""The CS's relay: pass after pass, the register's changes into the CS (intake) and the CS's notices out to the
prefecture server (delivery, 住基法30条の6).

The counter never waits for it: a filing commits to the register and its outbox whatever the 住基ネット does, and
the relay, on its own thread or in its own process (`juki cs serve`), catches up. A pass that fails (the CS's
database down, a broken link configuration) is logged — by the exception's class, never its text, which may
quote a value — and the next pass starts again from what was committed: intake is at-least-once and the
prefecture acknowledges a repeated notice (docs/cs.md).

Between passes it runs the daily comparison with the register (標準仕様書 j1100, comparison.py) as the CS itself
(`CS_SYSTEM`): at `compare_hour` o'clock in Japan, and at a start when none was kept since the latest such hour.
Its clock is given, so that a test moves time instead of waiting for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from juki.cs.services import comparison, delivery, intake
from juki.cs.services.comparison import ComparisonReport
from juki.cs.services.delivery import Backoff
from juki.cs.services.intake import EventKeyHolder
from juki.cs.services.ports import CsTransaction
from juki.cs.wire import PrefectureClient
from juki.policy.roles import CS_SYSTEM
from juki.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("juki.cs.relay")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        clock: Clock = utc_now,
        compare_hour: int = comparison.DAILY_HOUR,
    ) -> None:
        if not 0 <= compare_hour <= 23:
            raise ValueError("compare_hour is an hour of the day, 0 to 23")
        self.uow_factory, self.cs, self.event_key, self.city_code = uow_factory, cs, event_key, city_code
        self.connect, self.terminal, self.backoff = connect, terminal, backoff
        self.clock, self.compare_hour = clock, compare_hour
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

    def compare_if_due(self) -> ComparisonReport | None:
        """The daily comparison with the register, when due (comparison.due); None when it is not."""
        now = self.clock()
        if not comparison.due(comparison.last_run(self.cs), now, self.compare_hour):
            return None
        register = comparison.RegisterQueries(self.uow_factory, CS_SYSTEM)
        return comparison.compare(self.uow_factory, self.cs, register, CS_SYSTEM, self.city_code, now)

    def compare_safely(self) -> ComparisonReport | None:
        """`compare_if_due`; a failure is logged without its text, and the next pass asks again."""
        try:
            report = self.compare_if_due()
        except Exception as exc:  # nothing was kept: still due at the next pass
            log.error("CS comparison failed: %s", type(exc).__name__)
            return None
        if report is not None:
            log.info("CS comparison: %d persons, %d differences", report.persons, len(report.differences))
        return report

    def run_until_stopped(self, interval: float) -> None:
        """Pass after pass, `interval` seconds apart, each followed by the comparison when it is due, until
        `stop()` (or forever)."""
        while not self._stopping.is_set():
            done = self.run_safely()
            self.compare_safely()
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
