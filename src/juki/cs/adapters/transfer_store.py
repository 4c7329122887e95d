"""The CS's telegrams between cities on SQLAlchemy Core (transfer_tables.py), in the CS's own transaction: the
services ask `of(store)` for the transfer store over the connection of the CS store they hold.

The 個人番号 is taken out of the items and kept encrypted with the CS's key (as adapters/store.py does), and put
back on reading. `CsMoveOutCertificates` is the port the register's 特例転入 reads the held 転出証明書情報 through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update

from juki.adapters.vault import MyNumberVault
from juki.cs.adapters import tables as t
from juki.cs.adapters import transfer_tables as tt
from juki.cs.adapters.cs_db import CsDatabase
from juki.cs.adapters.store import SqlCsStore
from juki.cs.domain.items import MY_NUMBER, Items
from juki.cs.domain.transfers import split_name
from juki.cs.services.ports import CsStore
from juki.cs.services.transfers import (
    FINAL,
    HeldCertificate,
    InTelegram,
    OutTelegram,
    TransferStore,
)
from juki.services.read_models import HeldMoveOut


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class SqlTransferStore:
    def __init__(self, conn: Connection, vault: MyNumberVault, now: datetime) -> None:
        self.conn, self.vault, self.now = conn, vault, now

    def _split(self, items: Mapping[str, str | None]) -> tuple[dict[str, Any], str | None]:
        number = items.get(MY_NUMBER)
        kept = {k: v for k, v in items.items() if k != MY_NUMBER}
        return kept, self.vault.encrypt(number) if number else None

    def _join(self, items: Mapping[str, Any], token: str | None) -> Items:
        """The items with their 個人番号 back (a 転入通知 has none: no such item then)."""
        return dict(items) | ({MY_NUMBER: self.vault.decrypt(token)} if token else {})

    # -- what the CS sends
    def add_out(self, values: dict[str, object]) -> int:
        row = self._out_values(values) | {"created_at": self.now, "attempts": 0}
        return int(
            self.conn.execute(
                insert(tt.telegrams_out).values(row).returning(tt.telegrams_out.c.id)
            ).scalar_one()
        )

    def change_out(self, telegram: int, values: dict[str, object]) -> None:
        o = tt.telegrams_out
        self.conn.execute(update(o).where(o.c.id == telegram).values(self._out_values(values)))

    def _out_values(self, values: Mapping[str, object]) -> dict[str, object]:
        out = dict(values)
        items = out.pop("items", None)
        if isinstance(items, dict):
            out["items"], out["my_number"] = self._split(items)
            out["resident_code"] = items.get("住民票コード")
        return out | {"updated_at": self.now}

    def _out(self, row: Any) -> OutTelegram:
        return OutTelegram(
            row.id, row.telegram_id, row.kind, row.to_city_code, row.addressee_number, row.resident_code,
            row.event_position, self._join(row.items, row.my_number), row.state, row.attempts,
            _aware(row.next_attempt_at), row.error_code, row.error_item, row.error_message,
            _aware(row.updated_at) or row.updated_at,
        )  # fmt: skip

    def out_telegram(self, telegram: int) -> OutTelegram | None:
        row = self.conn.execute(select(tt.telegrams_out).where(tt.telegrams_out.c.id == telegram)).first()
        return self._out(row) if row is not None else None

    def outs_of(self, addressee_number: str) -> list[OutTelegram]:
        o = tt.telegrams_out.c
        rows = self.conn.execute(
            select(tt.telegrams_out)
            .where(o.addressee_number == addressee_number)
            .order_by(o.event_position, o.id)
        )
        return [self._out(r) for r in rows]

    def persons_sending(self) -> list[str]:
        o = tt.telegrams_out.c
        rows = self.conn.execute(select(o.addressee_number).where(o.state.not_in(FINAL)).order_by(o.id))
        return list(dict.fromkeys(r.addressee_number for r in rows))

    def outgoing(self, limit: int) -> list[OutTelegram]:
        o = tt.telegrams_out.c
        rows = self.conn.execute(
            select(tt.telegrams_out).order_by(o.updated_at.desc(), o.id.desc()).limit(limit)
        )
        return [self._out(r) for r in rows]

    # -- what came in
    def received(self, telegram_id: str) -> bool:
        query = select(exists().where(tt.telegrams_in.c.telegram_id == telegram_id))
        return bool(self.conn.scalar(query))

    def add_in(self, telegram: InTelegram) -> None:
        values = asdict(telegram) | {"received_at": self.now}
        values.pop("id")
        self.conn.execute(insert(tt.telegrams_in).values(values))

    def incoming(self, limit: int) -> list[InTelegram]:
        i = tt.telegrams_in.c
        rows = self.conn.execute(select(tt.telegrams_in).order_by(i.seq.desc(), i.id.desc()).limit(limit))
        return [
            InTelegram(r.id, r.telegram_id, r.seq, r.kind, r.from_city_code, r.resident_code, r.items, r.outcome,
                       r.code, r.item, r.message, _aware(r.received_at))
            for r in rows
        ]  # fmt: skip

    def cursor(self, city_code: str) -> int:
        c = tt.inbox_cursor.c
        value = self.conn.scalar(select(c.after).where(c.city_code == city_code))
        return int(value) if value is not None else 0

    def set_cursor(self, city_code: str, after: int) -> None:
        c = tt.inbox_cursor
        done = self.conn.execute(
            update(c).where(c.c.city_code == city_code).values(after=after, updated_at=self.now)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(c).values(city_code=city_code, after=after, updated_at=self.now))

    def status_of(self, resident_code: str) -> str | None:
        """The レコード状況フラグ the CS holds for a 住民票コード (None: not held)."""
        i = t.identity.c
        row = self.conn.execute(select(i.status).where(i.resident_code == resident_code, i.in_scope)).first()
        return None if row is None else str(row.status)

    # -- the 転出証明書情報 held
    def hold(self, held: HeldCertificate) -> None:
        items, token = self._split(held.items)
        self.conn.execute(
            insert(tt.moveout_certificates).values(
                certificate_id=held.certificate_id, resident_code=held.resident_code,
                family_name_kana=split_name(held.items.get("ふりがな氏名"))[0], birth_date=held.birth_date,
                from_city_code=held.from_city_code, planned_on=held.planned_on,
                provisional_protection=held.provisional_protection, items=items, my_number=token,
                received_on=held.received_on, used_at=held.used_at, addressee_number=held.addressee_number,
            )
        )  # fmt: skip

    def _held(self, row: Any) -> HeldCertificate:
        return HeldCertificate(
            row.certificate_id, row.resident_code, row.from_city_code, row.birth_date, row.planned_on,
            row.provisional_protection, self._join(row.items, row.my_number), row.received_on,
            _aware(row.used_at), row.addressee_number,
        )  # fmt: skip

    def held(self, *, resident_code: str | None = None, kana: str | None = None,
             birth_date: date | None = None, unused: bool = False) -> list[HeldCertificate]:  # fmt: skip
        m = tt.moveout_certificates.c
        query = select(tt.moveout_certificates).order_by(m.received_on, m.certificate_id)
        if resident_code is not None:
            query = query.where(m.resident_code == resident_code)
        if kana is not None:
            query = query.where(m.family_name_kana == kana)
        if birth_date is not None:
            query = query.where(m.birth_date == birth_date)
        if unused:
            query = query.where(m.used_at.is_(None))
        return [self._held(r) for r in self.conn.execute(query)]

    def mark_used(self, certificate_id: str, addressee_number: str) -> bool:
        m = tt.moveout_certificates
        done = self.conn.execute(
            update(m)
            .where(m.c.certificate_id == certificate_id, m.c.used_at.is_(None))
            .values(used_at=self.now, addressee_number=addressee_number)
        )
        return bool(done.rowcount)

    def erase(self, certificate_id: str) -> None:
        m = tt.moveout_certificates
        self.conn.execute(delete(m).where(m.c.certificate_id == certificate_id))


def of(store: CsStore) -> TransferStore:
    """The transfer store in the CS store's transaction (the same connection, key and time)."""
    if not isinstance(store, SqlCsStore):  # as query_tables.book: the tables live beside the SQL store's
        raise TypeError("the transfer store needs the CS's SQL store")
    return SqlTransferStore(store.conn, store.vault, store.now)


class CsMoveOutCertificates:
    """The 転出証明書情報 the CS holds, for the register's 特例転入 (juki.services.ports.MoveOutCertificates)."""

    def __init__(self, db: CsDatabase) -> None:
        self.db = db

    def find(self, resident_code: str) -> HeldMoveOut | None:
        with self.db.transaction() as store:
            found = of(store).held(resident_code=resident_code, unused=True)
        return _port(found[-1]) if found else None

    def search(self, family_name_kana: str, birth_date: date) -> list[HeldMoveOut]:
        with self.db.transaction() as store:
            found = of(store).held(kana=family_name_kana, birth_date=birth_date, unused=True)
        return [_port(h) for h in found]

    def mark_used(self, certificate_id: str, addressee_number: str) -> None:
        with self.db.transaction() as store:
            of(store).mark_used(certificate_id, addressee_number)


def _port(held: HeldCertificate) -> HeldMoveOut:
    items = held.items
    family, given = split_name(items.get("漢字氏名"))
    family_kana, given_kana = split_name(items.get("ふりがな氏名"))
    return HeldMoveOut(
        certificate_id=held.certificate_id, resident_code=held.resident_code, my_number=items.get(MY_NUMBER),
        family_name=family, given_name=given, family_name_kana=family_kana, given_name_kana=given_kana,
        birth_date=held.birth_date, sex=items.get("性別") or "", relationship=items.get("続柄") or "",
        householder_name=items.get("世帯主氏名"), previous_address=items.get("住所") or "",
        previous_city_code=held.from_city_code, planned_on=held.planned_on,
        destination_address=items.get("転出先住所") or "", provisional_protection=held.provisional_protection,
        received_on=held.received_on,
    )  # fmt: skip


def _conforms(store: SqlTransferStore) -> TransferStore:
    return store
