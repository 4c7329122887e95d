"""特例転入's look-up of the CS's 転出証明書情報 and the counter's 転入通知受理: clerk and supervisor (the filers)."""

from __future__ import annotations

from typing import Any

from juki.policy.roles import REGISTER_CONFIRM_MOVE_OUT, REGISTER_FILE
from tests.card_move_fakes import CODE, FakeCertificates, held
from tests.e2e.role_cases.common import FILERS, Call, World, needs


def _confirmation(w: World) -> tuple[str, dict[str, Any]]:
    """The 転入通知 of the world's moved-out child (planned 2025-06-12), as the counter enters it."""
    with w.j.uow() as uow:
        state = uow.reader.resident(w.moved_out)
    code = state.record.resident_code
    body = {
        "resident_code": code,
        "moved_in_on": "2025-06-12",
        "destination_address": "東京都武蔵野市吉祥寺本町一丁目1番1号",
        "destination_city_code": "132039",
        "notified_on": "2025-06-20",
    }
    return "/api/v1/filings/move-out-confirmations", body


def _lookup(w: World) -> tuple[str, dict[str, Any]]:
    w.j.moveout_certificates = FakeCertificates(held())  # the CS's port, whatever the CS holds
    return "/api/v1/move-out-certificates/lookup", {"resident_code": CODE}


CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/filings/move-out-confirmations"): Call(
        FILERS, 201, _confirmation, needs=needs(REGISTER_CONFIRM_MOVE_OUT)
    ),
    ("POST", "/api/v1/move-out-certificates/lookup"): Call(FILERS, 200, _lookup, needs=needs(REGISTER_FILE)),
}
