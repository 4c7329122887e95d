"""SQL side of the register: reads the state a command needs and writes what it decided, in one transaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from juki.adapters import tables as t
from juki.adapters.db import is_conflict
from juki.adapters.event_key import EventKey
from juki.adapters.vault import MyNumberVault
from juki.domain.errors import Conflict
from juki.domain.events import (
    PROTECTION_CHANGED,
    SCHEMA_VERSION,
    ProtectionEvent,
    RecordedBy,
    RegisterEvent,
    body,
    protection_body,
)
from juki.domain.identifiers import make_addressee_number, make_household_number
from juki.domain.model import (
    ACTIVE,
    REMOVED,
    Address,
    HouseholdState,
    ResidentRecord,
    record_from_row,
    to_plain,
)
from juki.domain.names import joined_name_key, name_search_key, seion_kana
from juki.domain.register import Change, Outcome, ResidentState


def record_to_json(record: ResidentRecord) -> dict[str, Any]:
    """The stored snapshot: every item but the My Number, which has its own (encrypted) columns."""
    plain: dict[str, Any] = to_plain(record)
    plain.pop("my_number", None)
    return plain


class SqlRegisterReader:
    """`RegisterReader` over one connection (inside the command's transaction)."""

    def __init__(self, conn: Connection, today: date, vault: MyNumberVault) -> None:
        self.conn = conn
        self.today = today
        self.vault = vault

    def _record(self, row: Any) -> ResidentRecord:
        """A record with its My Number decrypted (the domain's rules compare numbers)."""
        return record_from_row(row.record, self.vault.open(row.my_number_ciphertext))

    def _state(self, row: Any) -> ResidentState:
        return ResidentState(self._record(row), row.version, row.last_changed_on)

    def resident(self, addressee_number: str) -> ResidentState | None:
        row = self.conn.execute(
            select(t.residents).where(t.residents.c.addressee_number == addressee_number)
        ).first()
        return self._state(row) if row else None

    def household(self, household_number: str) -> HouseholdState | None:
        hh = self.conn.execute(
            select(t.households).where(t.households.c.household_number == household_number)
        ).first()
        if hh is None:
            return None
        rows = self.conn.execute(
            select(t.residents.c.record, t.residents.c.my_number_ciphertext)
            .where(t.residents.c.household_number == household_number, t.residents.c.status == ACTIVE)
            .order_by(t.residents.c.position)
        ).all()
        members = [self._record(r) for r in rows]
        address = members[0].address if members else Address(hh.address)
        return HouseholdState(household_number, address, members, version=hh.version)

    def holders(
        self, my_number: str | None, resident_code: str | None, card: str | None
    ) -> list[ResidentState]:
        """標準仕様書 j600: a 個人番号, 住民票コード or 在留カード番号 names one person, active or removed."""
        keys = [
            (t.residents.c.my_number_index, self.vault.index(my_number) if my_number else None),
            (t.residents.c.resident_code, resident_code),
            (t.residents.c.residence_card_number, card),
        ]
        conditions = [col == value for col, value in keys if value]
        if not conditions:
            return []
        rows = self.conn.execute(
            select(t.residents).where(or_(*conditions)).order_by(t.residents.c.addressee_number).limit(3)
        ).all()
        return [self._state(row) for row in rows]

    def filing_versions(self, filing_id: str) -> list[tuple[str, int]] | None:
        rows = self.conn.execute(
            select(t.resident_versions.c.addressee_number, t.resident_versions.c.version).where(
                t.resident_versions.c.filing_id == filing_id
            )
        ).all()
        return [(r.addressee_number, r.version) for r in rows] or None

    def later_change(
        self,
        filing_id: str,
        addressee_numbers: list[str],
        household_numbers: list[str],
        others_than: list[str],
    ) -> str | None:
        """In commit order (the outbox's sequence): the first change after the filing's own that concerns one of
        the persons, or someone else who is still an active member of one of the households."""
        o, r = t.outbox.c, t.residents.c
        last = select(func.max(o.seq)).where(o.filing_id == filing_id).scalar_subquery()
        members = select(r.addressee_number).where(
            r.household_number.in_(household_numbers), r.status == ACTIVE
        )
        concerns = or_(
            o.addressee_number.in_(addressee_numbers),
            and_(
                o.household_number.in_(household_numbers),
                o.addressee_number.not_in(others_than),
                o.addressee_number.in_(members),
            ),
        )
        found = self.conn.execute(  # a protection event is not a change of the record (docs/events.md)
            select(o.filing_id)
            .where(o.seq > last, concerns, o.event != PROTECTION_CHANGED)
            .order_by(o.seq)
            .limit(1)
        ).scalar()
        return str(found) if found is not None else None

    def same_three_info(self, family_name: str, given_name: str, sex: str, birth_date: date) -> list[str]:
        r = t.residents.c
        q = select(r.addressee_number).where(
            r.family_name == family_name, r.given_name == given_name, r.birth_date == birth_date, r.sex == sex
        )
        return list(self.conn.execute(q.limit(10)).scalars())

    def version_state(self, addressee_number: str, version: int) -> ResidentState | None:
        v = t.resident_versions.c
        row = self.conn.execute(
            select(v.record, v.my_number_ciphertext).where(
                v.addressee_number == addressee_number, v.version == version
            )
        ).first()
        if row is None:
            return None
        last = self.conn.execute(
            select(func.max(v.changed_on)).where(v.addressee_number == addressee_number, v.version <= version)
        ).scalar_one()
        return ResidentState(self._record(row), version, last)

    def next_addressee_number(self) -> str:
        return make_addressee_number(next_counter(self.conn, "addressee"))

    def next_household_number(self) -> str:
        return make_household_number(next_counter(self.conn, "household"))

    def draw_resident_code(self, exclude: frozenset[str]) -> str | None:
        """At random among the stock's codes nobody took and no record holds (a code typed on a 転入 may be one)."""
        stock, uses, residents = t.resident_code_stock.c, t.resident_code_uses.c, t.residents.c
        query = select(stock.code).where(
            ~select(uses.code).where(uses.code == stock.code).exists(),
            ~select(residents.resident_code).where(residents.resident_code == stock.code).exists(),
        )
        if exclude:
            query = query.where(stock.code.not_in(sorted(exclude)))
        code: str | None = self.conn.execute(query.order_by(func.random()).limit(1)).scalar()
        return code


def next_counter(conn: Connection, name: str, step: int = 1) -> int:
    """Take the next value(s) of a counter; the row lock is held until commit, which orders the writers."""
    conn.execute(update(t.counters).where(t.counters.c.name == name).values(value=t.counters.c.value + step))
    value: int = conn.execute(select(t.counters.c.value).where(t.counters.c.name == name)).scalar_one()
    return value


def next_daily_counter(conn: Connection, name: str, day: date) -> int:
    """The next of a sequence that starts again each day (発行番号, 申請番号). The day's row is made by its first
    use (a race for it leaves one row: ON CONFLICT DO NOTHING); its row lock, held to commit, orders the day."""
    row = f"{name}:{day:%Y%m%d}"
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(t.counters).values(name=row, value=0).on_conflict_do_nothing(index_elements=["name"])
    )
    return next_counter(conn, row)


def search_columns(record: ResidentRecord) -> dict[str, Any]:
    return {
        "family_name": record.family_name,
        "given_name": record.given_name,
        "family_kana_key": seion_kana(record.family_name_kana),
        "given_kana_key": seion_kana(record.given_name_kana),
        # j340: names as people write them (case, width, spaces), the 通称 and the 併記名 (migration 0012)
        "family_name_key": name_search_key(record.family_name),
        "given_name_key": name_search_key(record.given_name),
        "alias_name_key": joined_name_key(record.foreign.alias_name if record.foreign else None),
        "parallel_name_key": joined_name_key(record.foreign.parallel_name if record.foreign else None),
        "address": record.address.address,
    }


def write_outcome(
    conn: Connection,
    outcome: Outcome,
    filing_id: str,
    recorded_by: RecordedBy,
    now: datetime,
    vault: MyNumberVault,
    event_key: EventKey,
) -> None:
    """Write each change as a new version, move the current state on, and check nobody else did first; the
    events go to the outbox in the same transaction."""
    try:
        for hh in outcome.households.values():
            _write_household(conn, hh)
        for ch in outcome.changes:
            _write_change(conn, ch, filing_id, recorded_by.staff_id, now, vault)
        for code, addressee_number in outcome.drawn_codes.items():  # taken once: the primary key guards it
            conn.execute(
                insert(t.resident_code_uses).values(
                    code=code, addressee_number=addressee_number, filing_id=filing_id, used_at=now
                )
            )
    except IntegrityError as exc:
        if not is_conflict(exc):  # any other constraint is a fault of juki's, not a race: a 500, not a retry
            raise
        # a concurrent writer took the same version or number first
        raise Conflict("他の操作で更新されました。もう一度照会してください") from exc
    _write_outbox(conn, outcome.events, filing_id, recorded_by, now, event_key)


def _write_household(conn: Connection, hh: HouseholdState) -> None:
    head = hh.householder
    values = {
        "address": hh.address.address,
        "householder": head.addressee_number if head else None,
        "member_count": len(hh.members),
        "status": ACTIVE if hh.members else REMOVED,
    }
    if hh.is_new:
        conn.execute(insert(t.households).values(household_number=hh.household_number, version=1, **values))
        return
    done = conn.execute(
        update(t.households)
        .where(t.households.c.household_number == hh.household_number, t.households.c.version == hh.version)
        .values(version=hh.version + 1, **values)
    )
    if done.rowcount != 1:
        raise Conflict("世帯が他の操作で更新されました。もう一度照会してください", "household_number")


def my_number_columns(vault: MyNumberVault, my_number: str | None) -> dict[str, str | None]:
    """The stored form of a My Number: an AES-GCM token and its blind index (both None for no number)."""
    ciphertext, index = vault.seal(my_number)
    return {"my_number_ciphertext": ciphertext, "my_number_index": index}


def _write_change(
    conn: Connection, ch: Change, filing_id: str, staff_id: str, now: datetime, vault: MyNumberVault
) -> None:
    r = ch.record
    version = ch.previous_version + 1
    snapshot = record_to_json(r)
    cols = search_columns(r)
    sealed = my_number_columns(vault, r.my_number)
    conn.execute(
        insert(t.resident_versions).values(
            addressee_number=r.addressee_number,
            version=version,
            household_number=r.household_number,
            change_reason=ch.change_reason,
            changed_on=ch.changed_on,
            filed_on=ch.filed_on,
            recorded_at=now,
            filing_id=filing_id,
            staff_id=staff_id,
            record=snapshot,
            **sealed,
            **cols,
        )
    )
    current = dict(
        version=version,
        status=r.status,
        household_number=r.household_number,
        position=r.position,
        relationship=r.relationship,
        birth_date=r.birth_date,
        sex=r.sex,
        resident_code=r.resident_code,
        **sealed,
        residence_card_number=r.foreign.residence_card_number if r.foreign else None,
        last_changed_on=ch.last_changed_on or ch.changed_on,
        record=snapshot,
        **cols,
    )
    if ch.previous_version == 0:
        conn.execute(insert(t.residents).values(addressee_number=r.addressee_number, **current))
        return
    done = conn.execute(
        update(t.residents)
        .where(
            t.residents.c.addressee_number == r.addressee_number,
            t.residents.c.version == ch.previous_version,
        )
        .values(**current)
    )
    if done.rowcount != 1:
        raise Conflict("住民が他の操作で更新されました。もう一度照会してください", "addressee_number")


def _write_outbox(
    conn: Connection,
    events: list[RegisterEvent],
    filing_id: str,
    recorded_by: RecordedBy,
    now: datetime,
    event_key: EventKey,
) -> None:
    """One outbox row per event. The counter row is locked last, so sequence order is commit order."""
    if not events:
        return
    last = next_counter(conn, "outbox", len(events))
    rows = [
        dict(
            seq=last - len(events) + i + 1,
            event=ev.name,
            addressee_number=ev.addressee_number,
            version=ev.version,
            household_number=ev.household.household_number,
            change_reason=ev.change_reason,
            changed_on=ev.changed_on,
            filing_id=filing_id,
            recorded_at=now,
            schema_version=SCHEMA_VERSION,
            filed_on=ev.filed_on,
            payload=body(ev, filing_id, recorded_by),
            my_number_sealed=(
                event_key.seal_for(ev.record.my_number, ev.addressee_number, ev.version)
                if ev.record.my_number
                else None
            ),
        )
        for i, ev in enumerate(events)
    ]
    conn.execute(insert(t.outbox), rows)


def write_protection_events(
    conn: Connection, events: list[ProtectionEvent], recorded_by: RecordedBy, now: datetime, today: date
) -> None:
    """One outbox row per person a measure covers, in the caller's transaction.

    An outbox row points at a version of its person; a protection event changes no version, so it points at the
    person's current one (the record the measure was decided on) and names the measure as its `filing_id`.
    """
    if not events:
        return
    r = t.residents.c
    numbers = [ev.addressee_number for ev in events]
    current = {
        row.addressee_number: row
        for row in conn.execute(
            select(r.addressee_number, r.version, r.household_number).where(r.addressee_number.in_(numbers))
        )
    }
    last = next_counter(conn, "outbox", len(events))
    rows = [
        dict(
            seq=last - len(events) + i + 1,
            event=PROTECTION_CHANGED,
            addressee_number=ev.addressee_number,
            version=current[ev.addressee_number].version,
            household_number=current[ev.addressee_number].household_number,
            change_reason=f"protection:{ev.action}",
            changed_on=ev.changed_on,
            filing_id=ev.measure_id,
            recorded_at=now,
            schema_version=SCHEMA_VERSION,
            filed_on=today,
            payload=protection_body(ev, recorded_by),
            my_number_sealed=None,
        )
        for i, ev in enumerate(events)
    ]
    conn.execute(insert(t.outbox), rows)


def read_outbox(conn: Connection, after: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(t.outbox, t.resident_versions.c.record, t.resident_versions.c.my_number_ciphertext)
            .join(
                t.resident_versions,
                and_(
                    t.outbox.c.addressee_number == t.resident_versions.c.addressee_number,
                    t.outbox.c.version == t.resident_versions.c.version,
                ),
            )
            .where(t.outbox.c.seq > after)
            .order_by(t.outbox.c.seq)
            .limit(limit)
        ).all()
    )


def outbox_head(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.outbox.c.seq), 0))).scalar_one())
