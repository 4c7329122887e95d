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

With the other cities wired (`transfers_of`, `connect_cities`, `confirm`), a pass also sends the telegrams between
cities that are due, takes in our inbox, and erases every 転出証明書情報 whose period is over on the clock's day
(services/transfers.py, docs/cs-transfers.md).

With J-LIS wired (`jlis`, `connect_jlis`), a pass also does the CS's part of the numbers J-LIS gives the city
after the notices (services/jlis.py, docs/cs-jlis.md): the 住民票コード stock topped up, the 個人番号 requests sent,
J-LIS's answers handed to the register, the 送付先情報 delivered; then the 符号取得 requests of the 団体内統合宛名
function (services/link_codes.py). `top_up` is the stock's step alone (`juki demo`
does it before it serves: a birth needs a code from the stock).

While the CS operator has switched the CS to sending on media (標準仕様書 j1090, services/media.py,
docs/cs-media.md), a pass takes in and exchanges telegrams as ever but sends no notice over the link: it does not
open it for the notices, and delivery asks again before each notice (a switch during a pass stops it there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from juki.cs.jlis_wire import JlisClient
from juki.cs.services import comparison, delivery, intake, jlis, link_codes, media, restrictions, transfers
from juki.cs.services.comparison import ComparisonReport
from juki.cs.services.delivery import Backoff
from juki.cs.services.intake import EventKeyHolder
from juki.cs.services.media import MediaOf
from juki.cs.services.ports import CsStore, CsTransaction
from juki.cs.services.transfers import Confirm, TransfersOf
from juki.cs.wire import CitiesClient, PrefectureClient
from juki.policy.roles import CS_SYSTEM
from juki.services.numbers import Stock
from juki.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("juki.cs.relay")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# Opens the link to the prefecture for one pass (the mutual-TLS client of juki-net.json) and closes it after.
Connect = Callable[[], AbstractContextManager[PrefectureClient]]
# Opens the link to the other cities (the same juki-net.json) for one pass.
ConnectCities = Callable[[], AbstractContextManager[CitiesClient]]
# Opens the link to J-LIS (the same juki-net.json) for one pass.
ConnectJlis = Callable[[], AbstractContextManager[JlisClient]]


@dataclass(frozen=True)
class RelayPass:
    """What one pass did: events new to the CS, and the notices' answers."""

    taken: int
    acknowledged: int = 0
    refused: int = 0
    unreachable: int = 0
    telegrams_sent: int = 0  # telegrams to other cities acknowledged
    telegrams_waiting: int = 0  # refused or unreachable: in the telegram error queue or waiting for a retry
    telegrams_received: int = 0  # telegrams taken in from our inbox
    purged: int = 0  # 転出証明書情報 erased at the end of their period
    jlis: jlis.JlisReport | None = None  # the numbers' step (None: J-LIS not wired)


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
        transfers_of: TransfersOf | None = None,
        connect_cities: ConnectCities | None = None,
        confirm: Confirm | None = None,
        media_of: MediaOf | None = None,
        numbers: jlis.Setup | None = None,
        connect_jlis: ConnectJlis | None = None,
    ) -> None:
        if not 0 <= compare_hour <= 23:
            raise ValueError("compare_hour is an hour of the day, 0 to 23")
        self.uow_factory, self.cs, self.event_key, self.city_code = uow_factory, cs, event_key, city_code
        self.connect, self.terminal, self.backoff = connect, terminal, backoff
        self.clock, self.compare_hour = clock, compare_hour
        self.transfers_of, self.connect_cities, self.confirm = transfers_of, connect_cities, confirm
        self.media_of = media_of  # None: no sending mode kept (a bare relay): always the link
        self.numbers, self.connect_jlis = numbers, connect_jlis
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RelayPass:
        """Take in every pending change, erase what is held past its period, then deliver what may go now: the
        notices to the prefecture first, then the telegrams between cities (they wait for the notices)."""
        taken = intake.run_all(self.uow_factory, self.cs, self.event_key, self.city_code, self.transfers_of)
        purged = self._purge()
        if self.connect is None:
            return RelayPass(taken, purged=purged)
        report = delivery.DeliveryReport()
        if not self._by_media():
            with self.connect() as client:
                report = delivery.deliver(self.cs, client, self.terminal, self.backoff, paused=self._paused)
        numbers = self._numbers()
        exchanged = self._exchange()
        return RelayPass(
            taken, len(report.acknowledged), len(report.refused), len(report.unreachable),
            len(exchanged.sent), len(exchanged.refused) + len(exchanged.unreachable), len(exchanged.received),
            purged, numbers,
        )  # fmt: skip

    def _numbers(self) -> jlis.JlisReport | None:
        if self.numbers is None or self.connect_jlis is None:
            return None
        with self.connect_jlis() as client:
            report = jlis.run(self.numbers, client)
            link_codes.run(self.numbers, client, report)  # the 符号取得 requests, over the same link
            return report

    def top_up(self) -> Stock:
        """The 住民票コード stock's step alone, now (raises `wire.Unreachable` when J-LIS does not answer)."""
        if self.numbers is None or self.connect_jlis is None:
            raise RuntimeError("J-LIS is not wired to this relay")
        with self.connect_jlis() as client:
            return jlis.top_up(self.numbers, client)

    def _paused(self, store: CsStore) -> bool:
        return self.media_of is not None and media.by_media(store, self.media_of)

    def _by_media(self) -> bool:
        with self.cs() as store:
            return self._paused(store)

    def _purge(self) -> int:
        if self.transfers_of is None:
            return 0
        return len(transfers.purge(self.cs, self.transfers_of, restrictions.today_of(self.clock())))

    def _exchange(self) -> transfers.ExchangeReport:
        report = transfers.ExchangeReport()
        if self.transfers_of is None or self.connect_cities is None:
            return report
        with self.connect_cities() as client:
            link = transfers.Link(self.cs, self.transfers_of, client, self.city_code, self.terminal,
                                  self.backoff or Backoff())  # fmt: skip
            transfers.send_due(link, report)
            if self.confirm is not None:
                transfers.receive(link, self.confirm, report)
        return report

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
            if done is not None and done.jlis is not None and done.jlis.busy:
                n = done.jlis
                log.info(
                    "CS relay, J-LIS: %d 住民票コード received, %d 個人番号 requests taken, %d assigned, "
                    "%d 送付先情報 delivered, %d 符号取得 requests taken, %d refused",
                    n.codes_received, n.requests_sent, n.assigned, n.mailing_delivered, n.link_codes_sent,
                    n.refused,
                )  # fmt: skip
            if done is not None and (done.telegrams_sent or done.telegrams_received or done.purged):
                log.info(
                    "CS relay: %d telegrams sent, %d received, %d 転出証明書情報 erased",
                    done.telegrams_sent,
                    done.telegrams_received,
                    done.purged,
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
