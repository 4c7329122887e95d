"""The clerk UI's certificate hand-over in `ui_certificate_handovers` (migration 0014), so that any worker process
serves any step: the confirmation shown by one, 発行 pressed on another, the PDF fetched from a third.

A row per confirmation. Its 発行 claims it once by an atomic `UPDATE … WHERE state = 'pending'` (pending → busy →
done, or failed); a second press finds it busy and polls the row until the first is done. The PDF (it may hold a
My Number) is sealed with AES-GCM under the UI key, bound to its row's token, and cleared on its one fetch or after
ten minutes; the row goes after half an hour. Rows are working state, not history.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, delete, func, select, update

from juki.adapters import tables as t
from juki.services.certificate_handover import KEEP_SECONDS, PDF_SECONDS, WAIT_SECONDS, Claim, Handed
from juki.services.certificate_office import Issued

_H = t.ui_certificate_handovers
_C = _H.c
_NONCE = 12
POLL_SECONDS = 0.05


def _now() -> datetime:
    return datetime.now(UTC)


class SqlHandovers:
    """`services.certificate_handover.Handovers` over the database; `key` seals the PDFs (32 bytes)."""

    def __init__(
        self,
        engine: Engine,
        key: bytes,
        *,
        clock: Callable[[], datetime] = _now,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._engine = engine
        self._cipher = AESGCM(key)
        self._clock = clock
        self._wait = wait_seconds

    def begin(self, staff_id: str) -> str:
        token = secrets.token_urlsafe(18)
        now = self._clock()
        with self._engine.begin() as conn:
            self._expire(conn, now)
            conn.execute(_H.insert().values(token=token, staff_id=staff_id, state="pending", created_at=now))
        return token

    def claim(self, token: str, staff_id: str) -> tuple[Claim, str | None]:
        deadline = time.monotonic() + self._wait
        while True:
            state, number = self._try_claim(token, staff_id)
            if state != "busy":
                return state, number
            if time.monotonic() >= deadline:
                return "busy", None
            time.sleep(POLL_SECONDS)  # the first press is issuing (on this worker or another)

    def _try_claim(self, token: str, staff_id: str) -> tuple[Claim, str | None]:
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(_H)
                .where(_C.token == token, _C.staff_id == staff_id, _C.state == "pending")
                .values(state="busy", claimed_at=self._clock())
            ).rowcount
            if taken == 1:
                return "go", None
            row = conn.execute(
                select(_C.state, _C.issuance_number).where(_C.token == token, _C.staff_id == staff_id)
            ).first()
        if row is None or row.state == "failed":
            return "unknown", None
        if row.state == "done":
            return "done", row.issuance_number
        return "busy", None

    def refused(self, token: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(_H).where(_C.token == token, _C.state == "busy").values(state="failed"))

    def issued(self, token: str, issued: Issued, summary: dict[str, Any]) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(_H)
                .where(_C.token == token, _C.state == "busy")
                .values(
                    state="done",
                    issuance_number=issued.issuance_number,
                    pdf_sealed=self._seal(token, issued.pdf),
                    summary={"page": summary, "issued": _facts(issued)},
                    issued_at=self._clock(),
                )
            )

    def get(self, number: str, staff_id: str) -> Handed | None:
        with self._engine.begin() as conn:
            self._expire(conn, self._clock())
            row = self._row(conn, number, staff_id)
        if row is None:
            return None
        pdf = self._open(row.token, row.pdf_sealed) if row.pdf_sealed is not None else b""
        return Handed(
            row.staff_id, _issued(number, row.summary["issued"], pdf), row.summary["page"], row.fetched
        )

    def take(self, number: str, staff_id: str) -> Issued | None:
        with self._engine.begin() as conn:
            self._expire(conn, self._clock())
            row = self._row(conn, number, staff_id)
            if row is None or row.pdf_sealed is None:
                return None
            # only while the PDF is there: of two fetches at once (two workers), one clears it, the other gets nothing
            cleared = conn.execute(
                update(_H)
                .where(_C.token == row.token, _C.pdf_sealed.is_not(None))
                .values(pdf_sealed=None, summary={**row.summary, "fetched": True})
            ).rowcount
        pdf = self._open(row.token, row.pdf_sealed)
        if cleared != 1 or not pdf:
            return None
        return _issued(number, row.summary["issued"], pdf)

    @staticmethod
    def _row(conn: Connection, number: str, staff_id: str) -> _Row | None:
        row = conn.execute(
            select(_C.token, _C.staff_id, _C.pdf_sealed, _C.summary).where(
                _C.issuance_number == number, _C.staff_id == staff_id, _C.state == "done"
            )
        ).first()
        if row is None:
            return None
        return _Row(row.token, row.staff_id, row.pdf_sealed, row.summary)

    def _expire(self, conn: Connection, now: datetime) -> None:
        """The PDF goes ten minutes after its issue, the row half an hour after its last step."""
        conn.execute(
            update(_H)
            .where(_C.pdf_sealed.is_not(None), _C.issued_at < now - timedelta(seconds=PDF_SECONDS))
            .values(pdf_sealed=None)
        )
        last = func.coalesce(_C.issued_at, _C.claimed_at, _C.created_at)
        conn.execute(delete(_H).where(last < now - timedelta(seconds=KEEP_SECONDS)))

    def _seal(self, token: str, pdf: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._cipher.encrypt(nonce, pdf, token.encode())

    def _open(self, token: str, sealed: bytes) -> bytes:
        """The PDF, or nothing when it was sealed under a UI key this installation no longer has."""
        try:
            return self._cipher.decrypt(sealed[:_NONCE], sealed[_NONCE:], token.encode())
        except InvalidTag:
            return b""


@dataclass(frozen=True)
class _Row:
    token: str
    staff_id: str
    pdf_sealed: bytes | None
    summary: dict[str, Any]

    @property
    def fetched(self) -> bool:
        return bool(self.summary.get("fetched"))


def _facts(issued: Issued) -> dict[str, Any]:
    """The issue without its PDF, as JSON."""
    return {
        "issuance_numbers": list(issued.issuance_numbers),
        "sha256": issued.sha256,
        "kind": issued.kind,
        "pages": issued.pages,
        "fee": issued.fee,
        "my_number_printed": issued.my_number_printed,
        "issued_at": issued.issued_at.isoformat(),
        "items": list(issued.items),
        "warnings": list(issued.warnings),
        "overflows": issued.overflows,
    }


def _issued(number: str, facts: dict[str, Any], pdf: bytes) -> Issued:
    return Issued(
        issuance_number=number,
        issuance_numbers=tuple(facts["issuance_numbers"]),
        pdf=pdf,
        sha256=facts["sha256"],
        kind=facts["kind"],
        pages=facts["pages"],
        fee=facts["fee"],
        my_number_printed=facts["my_number_printed"],
        issued_at=datetime.fromisoformat(facts["issued_at"]),
        items=tuple(facts["items"]),
        warnings=tuple(facts["warnings"]),
        overflows=facts["overflows"],
    )
