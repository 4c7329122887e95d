"""符号取得 through the 住基ネット (番号法施行令20条; docs/cs-jlis.md): the city's 団体内統合宛名 function asks for a
person's 情報提供用個人識別符号 by giving the CS the network's 処理通番 (serial) and the person's 個人番号; the CS sends
them to J-LIS (cs/jlis_wire.py, `POST /jlis/v1/link-code-requests`), which turns the number into the person's
住民票コード and has the 情報提供ネットワークシステム issue the 符号 to the city's 中間サーバー. The 符号 never passes
through the CS.

- **Queued** (`CsLinkCodeRequester.request`, the port the 団体内統合宛名 function calls): one row per serial in the
  CS's own table, the 個人番号 sealed with the CS's key (never in clear, never in a log); a repeat of the same serial
  and number changes nothing, the same serial with another number is refused (`link_code_serial_reused`).
- **Sent** (`run`, a step of each relay pass after the J-LIS steps of services/jlis.py, over the same link): each
  queued request whose time has come, oldest first. J-LIS took it (the network issued the 符号) → `sent`, and the
  sealed number is erased: the CS no longer needs it. "Not yet known" (J-LIS holds no person of the city with that
  number: its 個人番号指定 has not reached the national server) and "network unreachable" (J-LIS could not reach the
  network) are waits: asked again after the relay's backoff. A refusal (a format error, a serial the network never
  gave the city, a serial used for another person) → `refused`, the number erased, and an entry of the J-LIS error
  queue (`cs_jlis_events`, subject `link_code`) naming the serial and the code — never the number.
- J-LIS unreachable ends the step for this pass, as for the other J-LIS steps; nothing is counted as an attempt.

Every step is a line of the CS log (`link_code`), with the request's row id and the CS's own words, never a value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from juki.cs.jlis_wire import SERIAL_MAX, JlisClient, LinkCodeRequestOut, NetworkDown, NotYetKnown, Taken
from juki.cs.services import jlis
from juki.cs.services.ports import CsStore, CsTransaction, LogLine
from juki.cs.wire import Refused, Unreachable
from juki.domain.errors import InvalidField
from juki.domain.identifiers import validate_my_number
from juki.policy.roles import CS_SYSTEM

log = logging.getLogger("juki.cs.link_codes")

QUEUED, SENT, REFUSED = "queued", "sent", "refused"
STATES = (QUEUED, SENT, REFUSED)
ACCEPTED, DUPLICATE = "accepted", "duplicate"  # what J-LIS answered a request it took (the `answer` column)
NOT_YET_KNOWN, NETWORK_UNREACHABLE = "not_yet_known", "network_unreachable"
ACTION, KIND = "link_code", "符号取得"
PER_PASS = 1000  # queued requests sent a pass, oldest first
# Printable ASCII without a space: the network's serials are opaque.
SERIAL = re.compile(rf"[!-~]{{1,{SERIAL_MAX}}}")


@dataclass(frozen=True)
class LinkCodeRequest:
    """A 符号取得の要求 as the CS keeps it. `my_number` is opened only for a queued one (None once it is sent or
    refused: the number is erased then); it never shows in a repr."""

    id: int
    serial: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    answer: str | None
    requested_at: datetime
    my_number: str | None = field(default=None, repr=False)


class LinkCodeStore(Protocol):
    """The CS's `cs_link_code_requests` in the CS store's transaction (cs/adapters/link_code_tables.py)."""

    now: datetime

    def find(self, serial: str) -> LinkCodeRequest | None:
        """The request of that serial (its number not opened)."""
        ...

    def holds_number(self, serial: str, my_number: str) -> bool:
        """Whether the request of that serial was made with this number (compared by the vault's keyed index)."""
        ...

    def add(self, serial: str, my_number: str) -> int:
        """A new queued request; its row id."""
        ...

    def due(self, now: datetime, limit: int) -> list[LinkCodeRequest]:
        """The queued requests whose next attempt is due, oldest first, with their numbers opened."""
        ...

    def wait(self, request_id: int, answer: str, attempts: int, next_attempt_at: datetime) -> None: ...

    def close(self, request_id: int, state: str, answer: str) -> None:
        """`sent` or `refused`, and the sealed number erased."""
        ...

    def counts(self) -> dict[str, int]:
        """How many requests are in each state."""
        ...


LinkCodesOf = Callable[[CsStore], LinkCodeStore]


def _log(store: CsStore, request_id: int, result: str, message: str, terminal: str = "cs-server") -> None:
    store.log(LogLine(ACTION, result, message, CS_SYSTEM.staff_id, terminal, entry=request_id, kind=KIND))


class SerialReused(InvalidField):
    """The same 処理通番 was given before with another 個人番号."""

    code = "link_code_serial_reused"
    default_message = "この処理通番は別の個人番号で要求済みです"
    default_field = "serial"


# --- the port the 団体内統合宛名 function calls ---------------------------------------------------------------------


class CsLinkCodeRequester:
    """`LinkCodeRequester` of the 中間サーバー (juki.intermediate): queues the request in the CS; the relay sends it."""

    def __init__(self, cs: CsTransaction, city_code: str, link_codes_of: LinkCodesOf,
                 terminal: str = "cs-server") -> None:  # fmt: skip
        self.cs, self.city_code, self.of, self.terminal = cs, city_code, link_codes_of, terminal

    def request(self, serial: str, my_number: str) -> None:
        """Queue the request of `serial` for the person of `my_number`; again with the same two: nothing more.
        Raises `InvalidField` for a serial not of the wire's form, `InvalidMyNumber`, `SerialReused`."""
        if not isinstance(serial, str) or not SERIAL.fullmatch(serial):
            raise InvalidField(f"処理通番は空白を含まない{SERIAL_MAX}文字までの英数字記号です", "serial")
        number = validate_my_number(my_number)
        with self.cs() as store:
            codes = self.of(store)
            if codes.find(serial) is not None:
                if not codes.holds_number(serial, number):
                    raise SerialReused()
                return
            request_id = codes.add(serial, number)
            _log(
                store,
                request_id,
                QUEUED,
                f"符号取得の要求（処理通番 {serial}）を受け付けました",
                self.terminal,
            )

    def state(self, serial: str) -> str | None:
        """Where the request of `serial` is (queued, sent, refused), or None when none was made: what staff see
        while a person has no 符号 yet."""
        with self.cs() as store:
            found = self.of(store).find(serial)
        return None if found is None else found.state


# --- the relay's step -------------------------------------------------------------------------------------------


def run(setup: jlis.Setup, client: JlisClient, report: jlis.JlisReport) -> None:
    """Send the queued requests that are due (module docstring); nothing when the store is not wired or J-LIS was
    unreachable earlier in this pass."""
    if setup.link_codes_of is None or report.unreachable:
        return
    try:
        send(setup, setup.link_codes_of, client, report)
    except Unreachable as exc:
        report.unreachable = True
        log.debug("J-LIS unreachable: %s", exc)


def send(setup: jlis.Setup, of: LinkCodesOf, client: JlisClient, report: jlis.JlisReport) -> None:
    with setup.cs() as store:
        due = of(store).due(store.now, PER_PASS)
    for request in due:
        if request.my_number is None:  # a queued request always has it: skipped rather than sent blind
            continue
        out = LinkCodeRequestOut(request.serial, setup.city_code, request.my_number)
        answer = client.request_link_code(out)
        if isinstance(answer, Taken):
            _taken(setup, of, request, answer, report)
        elif isinstance(answer, Refused):
            _refused(setup, of, request, answer, report)
        else:
            _wait(setup, of, request, answer, report)


def _taken(setup: jlis.Setup, of: LinkCodesOf, request: LinkCodeRequest, answer: Taken,
           report: jlis.JlisReport) -> None:  # fmt: skip
    with setup.cs() as store:
        of(store).close(request.id, SENT, DUPLICATE if answer.duplicate else ACCEPTED)
        again = "（再送）" if answer.duplicate else ""
        _log(store, request.id, SENT, f"J-LISが符号取得の要求（処理通番 {request.serial}）を受け付けました{again}",
             setup.terminal)  # fmt: skip
    report.link_codes_sent += 1


def _wait(setup: jlis.Setup, of: LinkCodesOf, request: LinkCodeRequest, answer: NotYetKnown | NetworkDown,
          report: jlis.JlisReport) -> None:  # fmt: skip
    code = NOT_YET_KNOWN if isinstance(answer, NotYetKnown) else NETWORK_UNREACHABLE
    why = ("J-LISがこの個人番号の住民をまだ保有していません" if code == NOT_YET_KNOWN
           else "J-LISが情報提供ネットワークシステムに接続できませんでした")  # fmt: skip
    attempts = request.attempts + 1
    with setup.cs() as store:
        retry = store.now + setup.backoff.after(attempts)
        of(store).wait(request.id, code, attempts, retry)
        _log(store, request.id, code, f"符号取得の要求（処理通番 {request.serial}）を後で再送します: {why}",
             setup.terminal)  # fmt: skip
    report.link_codes_waiting += 1


def _refused(setup: jlis.Setup, of: LinkCodesOf, request: LinkCodeRequest, answer: Refused,
             report: jlis.JlisReport) -> None:  # fmt: skip
    """Refused, the number erased, and into the J-LIS error queue — one CS transaction."""
    event = jlis.JlisEvent(jlis.LINK_CODE, request.serial, jlis.REFUSED, code=answer.code, item=answer.item)
    with setup.cs() as store:
        of(store).close(request.id, REFUSED, answer.code)
        setup.jlis_of(store).add(event)
        _log(store, request.id, answer.code,
             f"J-LISが符号取得の要求（処理通番 {request.serial}）を受け付けませんでした: {answer.code}",
             setup.terminal)  # fmt: skip
    report.refused += 1
    log.warning(
        "J-LIS refused the link code request %s: %s (%s)", request.id, answer.code, answer.item or "-"
    )


def counts(cs: CsTransaction, of: LinkCodesOf) -> dict[str, int]:
    """How many 符号取得の要求 are in each state (every state named, 0 when none)."""
    with cs() as store:
        found = of(store).counts()
    return {state: found.get(state, 0) for state in STATES}
