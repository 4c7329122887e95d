"""The 中間サーバー's relay: pass after pass, the register's changes into the 中間サーバー (intake, the 副本), the 符号
asked for the persons who need one, the network's inbox (符号 issued, 照会) handled, and the answers due sent — a
held answer released by a supervisor, or one the network did not take while it was down.

A second loop reads the inbox alone with long polling (`wire.MAX_WAIT`), so that a 照会 is answered within a second
of reaching the city, whatever the pass's interval. The two never read the inbox at once (a lock), and the cursor is
kept in the 中間サーバー's own table with each message handled, so a message read twice is handled once.

The counter never waits for any of it. A pass that fails is logged by the exception's class, never its text (it may
quote a value), and the next pass starts again from what was committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from juki.cs.services.delivery import Backoff
from juki.cs.services.intake import EventKeyHolder
from juki.intermediate import wire
from juki.intermediate.domain.permissions import QueryPermissionList, seed
from juki.intermediate.ports import ImsTransaction, LinkCodeRequester
from juki.intermediate.services import intake, link_codes, queries
from juki.services.unit_of_work import UnitOfWorkFactory

log = logging.getLogger("juki.intermediate.relay")
IDLE_SECONDS = 0.05  # the inbox loop's pause after an empty read
RETRY_SECONDS = 1.0  # and after a failed one


@dataclass(frozen=True)
class RelayPass:
    taken: int = 0  # register events new to the 中間サーバー
    link_codes: link_codes.RequestReport = field(default_factory=link_codes.RequestReport)
    inbox: queries.InboxReport = field(default_factory=queries.InboxReport)
    sent: int = 0  # answers the network took
    network_down: bool = False


class Relay:
    """Intake, 符号, inbox and answers for one 中間サーバー. Without `network` (none configured) only intake runs."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ims: ImsTransaction,
        event_key: EventKeyHolder,
        city_code: str,
        network: wire.NetworkClient | None = None,
        requester: LinkCodeRequester | None = None,
        permissions: QueryPermissionList | None = None,
        hand_backoff: Backoff = link_codes.HAND_BACKOFF,
    ) -> None:
        self.uow_factory, self.ims, self.event_key, self.city_code = uow_factory, ims, event_key, city_code
        self.network, self.requester, self.hand_backoff = network, requester, hand_backoff
        self.permissions = permissions or seed()
        self._inbox_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def run_once(self) -> RelayPass:
        taken = intake.run_all(self.uow_factory, self.ims, self.event_key, self.city_code)
        if self.network is None:
            return RelayPass(taken)
        try:
            requested = link_codes.RequestReport()
            if self.requester is not None:
                requested = link_codes.request_due(
                    self.ims, self.network, self.requester, self.city_code, backoff=self.hand_backoff
                )
            inbox = self.take_inbox(wait=0)
            sent = queries.send_due(self.ims, self.network)
        except wire.NetworkUnreachable:
            log.warning("情報提供ネットワークシステムに接続できません（次回再試行）")
            return RelayPass(taken, network_down=True)
        return RelayPass(taken, requested, inbox, len(sent.sent), sent.unreachable)

    def take_inbox(self, wait: float) -> queries.InboxReport:
        """Read and handle the inbox (holding it open up to `wait` seconds), then send the answers it decided."""
        assert self.network is not None
        with self._inbox_lock:
            report = queries.take_inbox(self.ims, self.network, self.city_code, self.permissions, wait)
        if report.answers:
            queries.send_due(self.ims, self.network, only=report.answers)
        return report

    def send_answers(self) -> int:
        """The answers due now (a supervisor's release does not wait for the next pass when the caller wants)."""
        if self.network is None:
            return 0
        return len(queries.send_due(self.ims, self.network).sent)

    def run_safely(self) -> RelayPass | None:
        # The next pass tries again: the outbox and the inbox keep what was not handled.
        try:
            return self.run_once()
        except Exception as exc:
            log.error("中間サーバーの処理に失敗しました: %s", type(exc).__name__)
            return None

    def _passes(self, interval: float) -> None:
        while not self._stopping.is_set():
            done = self.run_safely()
            if done is not None and (
                done.taken or done.link_codes.serials or done.inbox.queries or done.sent
            ):
                log.info(
                    "中間サーバー: %d 件取込, %d 件符号要求, %d 件照会, %d 件回答送信",
                    done.taken, done.link_codes.serials, done.inbox.queries, done.sent,
                )  # fmt: skip
            self._stopping.wait(interval)

    def _inbox_loop(self, wait: float) -> None:
        while not self._stopping.is_set():
            try:
                report = self.take_inbox(wait)
                if not (report.link_codes or report.queries or report.malformed):
                    # A network that answers an empty inbox at once (no long poll) is not read in a spin.
                    self._stopping.wait(IDLE_SECONDS)
            except wire.NetworkUnreachable:
                self._stopping.wait(RETRY_SECONDS)
            except Exception as exc:
                log.error("中間サーバーの受信処理に失敗しました: %s", type(exc).__name__)
                self._stopping.wait(RETRY_SECONDS)

    def start(self, interval: float, wait: float = 10.0) -> None:
        """The passes on one daemon thread and, with a network, the long-polling inbox on another."""
        if self._threads:
            raise RuntimeError("the intermediate server relay is already running")
        self._stopping.clear()
        runs: list[tuple[Callable[[float], None], float, str]] = [(self._passes, interval, "juki-ims-relay")]
        if self.network is not None:
            runs.append((self._inbox_loop, min(wait, wire.MAX_WAIT), "juki-ims-inbox"))
        for target, arg, name in runs:
            thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask both threads to stop and wait for them (an inbox read held open ends by its `wait`)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
