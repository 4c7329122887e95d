"""The 符号 (link_code, 情報提供用個人識別符号) of each unified number, and its states.

    none       the person has no 個人番号 yet: no unified number, no 符号 (states of a 宛名番号, not of a number)
    waiting    a unified number without a 符号: the next pass takes a serial (処理通番) from the network
    requested  a serial taken; the 個人番号 and the serial handed to the CS (`LinkCodeRequester`), which has J-LIS
               ask the network to issue the 符号 (番号法施行令20条) — the city never names the person to the network
    issued     the network's inbox brought the 符号 for that serial

A serial is used once: when staff ask again (`request_again`), the serial in flight is abandoned (a 符号 that still
comes for it is not taken) and the next pass takes a new one. A serial the CS could not take yet (`taken`) is handed
again, the same serial, once the backoff after its failed attempts has passed (5 s, doubling, at most 30 minutes:
a CS that is down is not asked, nor the log written, at every pass).

Two relays over one 中間サーバー (the demo's and `juki intermediate serve`) may both take a serial for the same
person: only the one whose transaction moves the person from `waiting` to `requested` hands it over; the other
serial is never used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from juki.cs.services.delivery import Backoff
from juki.intermediate import wire
from juki.intermediate.ports import ImsStore, ImsTransaction, LinkCodeRequester, LogLine, SerialRow

log = logging.getLogger("juki.intermediate.link_codes")

NONE, WAITING, REQUESTED, ISSUED = "none", "waiting", "requested", "issued"
STATES = (NONE, WAITING, REQUESTED, ISSUED)
# The states in staff's words (the API's `link_code_state_word` and the pages).
STATE_WORDS = {
    NONE: "未取得（個人番号なし）",
    WAITING: "取得中（要求前）",
    REQUESTED: "取得中（要求済み）",
    ISSUED: "取得済",
}
TAKEN, HANDED, DONE, ABANDONED = "taken", "handed", "issued", "abandoned"
HAND_BACKOFF = Backoff(first=timedelta(seconds=5), cap=timedelta(minutes=30))


@dataclass(frozen=True)
class RequestReport:
    serials: int = 0  # serials taken from the network
    handed: int = 0  # requests the CS took
    failed: int = 0  # requests the CS could not take now (handed again after the backoff)

    def counted(self, handed: bool, serial: bool = False) -> RequestReport:
        return RequestReport(self.serials + serial, self.handed + handed, self.failed + (not handed))


def request_due(
    ims: ImsTransaction,
    network: wire.NetworkClient,
    requester: LinkCodeRequester,
    city_code: str,
    limit: int = 100,
    backoff: Backoff = HAND_BACKOFF,
) -> RequestReport:
    """Hand every request the CS has not taken yet and whose backoff has passed, then take serials for unified
    numbers without one and hand those. `wire.NetworkUnreachable` from the network stops the step (the rest waits
    for the next pass)."""
    with ims() as store:
        now = store.now
        again = [
            (s.serial, s.unified_number) for s in store.serials(states=(TAKEN,)) if _due(s, now, backoff)
        ]
        waiting = [u.unified_number for u in store.waiting_for_serials(limit)]
    report = RequestReport()
    for serial, number in again[:limit]:
        report = report.counted(_hand(ims, requester, serial, number))
    for number in waiting:
        serial = network.new_serial(city_code)
        with ims() as store:
            claimed = store.set_link_code(number, REQUESTED, expected=WAITING)
            if claimed:
                store.add_serial(serial, number)
        if claimed:
            report = report.counted(_hand(ims, requester, serial, number), serial=True)
    return report


def _due(row: SerialRow, now: datetime, backoff: Backoff) -> bool:
    return row.attempts == 0 or now >= row.updated_at + backoff.after(row.attempts)


def _hand(ims: ImsTransaction, requester: LinkCodeRequester, serial: str, number: str) -> bool:
    with ims() as store:
        my_number = store.my_number(number)
    try:
        requester.request(serial, my_number)
    except Exception as exc:  # the CS's side is down or refused: the same serial goes again after the backoff
        log.warning("符号要求をCSに渡せませんでした: %s", type(exc).__name__)
        with ims() as store:
            store.set_serial(serial, TAKEN, attempted=True)
            store.log(
                LogLine(
                    "link_code", "request_failed", f"符号要求をCSに渡せませんでした ({type(exc).__name__})"
                )
            )
        return False
    with ims() as store:
        store.set_serial(serial, HANDED, attempted=True)
    return True


def issued(store: ImsStore, message: wire.LinkCodeIssued) -> bool:
    """The network's 符号 for one of our serials; False when not taken (unknown, abandoned, repeated, clashing)."""
    row = store.serial(message.serial)
    if row is None:
        store.log(
            LogLine("link_code", "unknown_serial", "払い出していない処理通番の符号を受け取りました（破棄）")
        )
        return False
    if row.state == ABANDONED:
        store.log(
            LogLine("link_code", "abandoned_serial", "取り下げた処理通番の符号を受け取りました（破棄）")
        )
        return False
    holder = store.unified_by_link_code(message.link_code)
    if holder is not None:
        if holder.unified_number != row.unified_number:
            store.log(
                LogLine("link_code", "link_code_clash", "別の統合宛名番号の符号と重複しています（破棄）")
            )
        return False  # the same 符号 again (a repeat), or a clash: nothing changes
    store.set_link_code(row.unified_number, ISSUED, message.link_code)
    store.set_serial(message.serial, DONE)
    store.log(LogLine("link_code", "issued", "符号を取得しました"))
    return True


def request_again(store: ImsStore, unified_number: str) -> None:
    """Staff ask for the 符号 again: the serial in flight is abandoned, and the next pass takes a new one."""
    for row in store.serials(unified_number, (TAKEN, HANDED)):
        store.set_serial(row.serial, ABANDONED)
    current = store.unified(unified_number)
    if current is not None and current.link_code_state != ISSUED:
        store.set_link_code(unified_number, WAITING, None)
