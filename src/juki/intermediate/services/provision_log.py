"""Writing, reading and verifying the 情報提供等記録 (domain/provision_log.py), and a resident's own history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from juki.domain.dates import JST
from juki.intermediate import wire
from juki.intermediate.domain import provision_log as plog
from juki.intermediate.ports import ImsStore, ProvisionFilter, QueryRow
from juki.intermediate.records import ProvisionEntry
from juki.intermediate.services import addressees

# Each action's status as a resident reads it (the wire's words).
_STATUS_OF = {
    plog.ANSWERED: wire.ANSWERED,
    plog.RELEASED: wire.ANSWERED,
    plog.REFUSED: wire.REFUSED,
    plog.WITHHELD: wire.REFUSED,
    plog.HELD: wire.PENDING,
}


def record(
    store: ImsStore,
    action: str,
    query: QueryRow,
    *,
    items: Sequence[str],
    status: str,
    message: str,
    staff_id: str = "",
) -> plog.Stored:
    """One entry for `query`, chained to the one before; kept seven years from today (Japan's day)."""
    at = store.now

    def make(seq: int) -> plog.Fields:
        return plog.Fields(
            seq, at, action, query.query_id, query.requester, query.legal_basis, query.procedure, query.information,
            query.link_code, query.unified_number, tuple(items), status, message, staff_id,
            plog.retain_until(at.astimezone(JST).date()),
        )  # fmt: skip

    return store.append_provision(make)


def verify(store: ImsStore) -> plog.Verification:
    rows, last = store.provision_chain()
    return plog.verify(rows, last)


def search(store: ImsStore, where: ProvisionFilter) -> list[plog.Stored]:
    return store.provision_entries(where)


class Records:
    """The 情報提供等記録 as the resident's own history reads it (services/my_usage.ProvisionRecords)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def provisions_for(self, addressee_number: str) -> list[ProvisionEntry]:
        return provisions_for(self.db, addressee_number)


def provisions_for(db: Any, addressee_number: str) -> list[ProvisionEntry]:
    """The resident's own history (docs/my-usage.md, as マイナポータル shows the 情報提供等記録): every answer given
    about them, refused or held too, oldest first — by their register 宛名番号, translated to the unified number
    inside. `db` is the 中間サーバー's database (adapters/ims_db.ImsDatabase) or anything with its `transaction()`."""
    with db.transaction() as store:
        number = addressees.unified_of(store, addressees.REGISTER_SYSTEM, addressee_number)
        if number is None:
            return []
        rows = store.provision_entries(
            ProvisionFilter(unified_numbers=[number], actions=list(_STATUS_OF), limit=10_000)
        )
    return [
        ProvisionEntry(
            r.fields.at,
            r.fields.requester,
            r.fields.legal_basis,
            r.fields.procedure,
            r.fields.items,
            _STATUS_OF[r.fields.action],
        )
        for r in rows
    ]
