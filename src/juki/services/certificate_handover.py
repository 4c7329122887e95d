"""The clerk UI's hand-over of an issued certificate: a confirmation's 発行 issues once, and its PDF goes to the
staff member who issued it, once.

A confirmation page gets a token; its 発行 button claims the token once (pressed twice in a hurry, or again after
戻る, it leads to what the first press issued). The PDF may hold a My Number: it is kept sealed, given once, and
dropped after ten minutes; the result page's facts (number, fee, digest) stay for half an hour. The store is
`adapters/handover_store.py` (a database table, so that every worker process of the server sees the same).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from juki.services.certificate_office import Issued

PDF_SECONDS = 600  # the PDF, until its one fetch
KEEP_SECONDS = 1800  # the result page's facts
WAIT_SECONDS = 20.0  # a second press waits this long for the first to finish issuing

Claim = Literal["go", "done", "busy", "unknown"]


@dataclass(frozen=True)
class Handed:
    """What the result page shows: the issue (its `pdf` empty once fetched or expired) and the page's facts."""

    staff_id: str
    issued: Issued
    summary: dict[str, Any]
    fetched: bool = False


class Handovers(Protocol):
    def begin(self, staff_id: str) -> str:
        """A confirmation shown: the token its 発行 button sends."""
        ...

    def claim(self, token: str, staff_id: str) -> tuple[Claim, str | None]:
        """`go` (issue now), `done` with the number this confirmation issued, `busy` (still issuing after the
        wait) or `unknown` (no such confirmation for this staff member, expired, or its 発行 was refused)."""
        ...

    def refused(self, token: str) -> None:
        """The claimed 発行 was refused or failed: the confirmation is spent (a new one is needed)."""
        ...

    def issued(self, token: str, issued: Issued, summary: dict[str, Any]) -> None:
        """The claimed 発行 issued: its PDF kept for one fetch, the result page's facts for half an hour."""
        ...

    def get(self, number: str, staff_id: str) -> Handed | None:
        """The result page of an issue by this staff member (its PDF left out)."""
        ...

    def take(self, number: str, staff_id: str) -> Issued | None:
        """The PDF, once, to the staff member who issued it; None when fetched already or expired."""
        ...
