"""コンビニ交付 in SQL: registered kiosks, residents' cards, J-LIS's revoked serials, challenges and card sessions.

Everything goes through the unit of work's connection (`uow.cards`), so a PIN failure, the lock it may set and the
log entry that records it share one transaction. The failure count is raised in the database
(`pin_failures = pin_failures + 1`), so two kiosks reporting at once both count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from juki.adapters import tables as t

k, c, r = t.kiosks.c, t.kiosk_cards.c, t.card_revocations.c
ch, s = t.kiosk_challenges.c, t.kiosk_sessions.c
PURGE_AFTER = timedelta(hours=1)  # expired challenges are removed this long after they expire
CHUNK = 1000  # serials per IN (…) or INSERT: a CRL may list many thousands


class SqlCardStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- kiosks
    def kiosk(self, kiosk_id: str) -> Any:
        return self.conn.execute(select(t.kiosks).where(k.kiosk_id == kiosk_id)).first()

    def put_kiosk(self, values: dict[str, Any]) -> None:
        """Register a kiosk, or re-register it with a new certificate (and back to active)."""
        if self.kiosk(values["kiosk_id"]) is None:
            self.conn.execute(insert(t.kiosks).values(**values))
        else:
            self.conn.execute(update(t.kiosks).where(k.kiosk_id == values["kiosk_id"]).values(**values))

    def kiosks(self) -> list[Any]:
        return list(self.conn.execute(select(t.kiosks).order_by(k.kiosk_id)).all())

    def set_kiosk_state(self, kiosk_id: str, state: str) -> bool:
        done = self.conn.execute(update(t.kiosks).where(k.kiosk_id == kiosk_id).values(state=state))
        return bool(done.rowcount)

    # --- cards
    def card(self, serial: str) -> Any:
        return self.conn.execute(select(t.kiosk_cards).where(c.serial == serial)).first()

    def cards_of(self, addressee_number: str) -> list[Any]:
        q = select(t.kiosk_cards).where(c.addressee_number == addressee_number).order_by(c.registered_at)
        return list(self.conn.execute(q).all())

    def add_card(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.kiosk_cards).values(**values))

    def change_card(self, serial: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(t.kiosk_cards).where(c.serial == serial).values(**values))

    def count_pin_failure(self, serial: str, at: datetime) -> int:
        """One more wrong PIN; the count after it (raised in the database, so concurrent reports all count)."""
        self.conn.execute(
            update(t.kiosk_cards)
            .where(c.serial == serial)
            .values(pin_failures=c.pin_failures + 1, changed_at=at)
        )
        count: int = self.conn.execute(select(c.pin_failures).where(c.serial == serial)).scalar_one()
        return count

    def revoked(self, serial: str) -> bool:
        return self.conn.execute(select(r.serial).where(r.serial == serial)).first() is not None

    def revoked_among(self, serials: Iterable[str]) -> set[str]:
        """Which of these serials are on J-LIS's revocation list."""
        wanted = list(dict.fromkeys(serials))
        found: set[str] = set()
        for i in range(0, len(wanted), CHUNK):
            part = wanted[i : i + CHUNK]
            found.update(self.conn.execute(select(r.serial).where(r.serial.in_(part))).scalars())
        return found

    def revocation_summary(self) -> tuple[int, datetime | None]:
        """How many serials are on the imported list, and when the last import added one."""
        count, last = self.conn.execute(select(func.count(), func.max(r.imported_at))).one()
        return int(count), last

    def add_revocations(self, rows: Iterable[dict[str, Any]]) -> int:
        """Serials J-LIS revoked that are not on the list yet; how many were new."""
        listed = {row["serial"]: row for row in rows}
        known = self.revoked_among(listed)
        new = [row for serial, row in listed.items() if serial not in known]
        for i in range(0, len(new), CHUNK):
            self.conn.execute(insert(t.card_revocations), new[i : i + CHUNK])
        return len(new)

    # --- challenges and sessions
    def add_challenge(self, values: dict[str, Any]) -> None:
        self.conn.execute(delete(t.kiosk_challenges).where(ch.expires_at < values["issued_at"] - PURGE_AFTER))
        self.conn.execute(insert(t.kiosk_challenges).values(**values))

    def take_challenge(self, challenge_id: str, kiosk_id: str, at: datetime) -> Any:
        """The challenge, marked used — only if it is this kiosk's, unused and not expired; else None."""
        done = self.conn.execute(
            update(t.kiosk_challenges)
            .where(
                ch.challenge_id == challenge_id,
                ch.kiosk_id == kiosk_id,
                ch.used_at.is_(None),
                ch.expires_at > at,
            )
            .values(used_at=at)
        )
        if done.rowcount != 1:
            return None
        return self.conn.execute(select(t.kiosk_challenges).where(ch.challenge_id == challenge_id)).first()

    def add_session(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.kiosk_sessions).values(**values))

    def session(self, token_hash: str) -> Any:
        return self.conn.execute(select(t.kiosk_sessions).where(s.token_hash == token_hash)).first()

    def end_session(self, token_hash: str, at: datetime) -> bool:
        done = self.conn.execute(
            update(t.kiosk_sessions)
            .where(s.token_hash == token_hash, s.ended_at.is_(None))
            .values(ended_at=at)
        )
        return bool(done.rowcount)

    # --- who gets a demo card (`juki demo`: demo/cards.py)
    def householders_of_size(self, members: int, limit: int) -> list[tuple[str, str]]:
        """(householder, household number) of active households of `members` persons, by household number."""
        h = t.households.c
        q = (
            select(h.householder, h.household_number)
            .where(h.status == "active", h.member_count == members, h.householder.is_not(None))
            .order_by(h.household_number)
            .limit(limit)
        )
        return [(head, number) for head, number in self.conn.execute(q).all()]

    def residents_born_by(self, born_by: date, limit: int) -> list[tuple[str, str]]:
        """(addressee number, household number) of active residents born on `born_by` or before, by number."""
        p = t.residents.c
        q = (
            select(p.addressee_number, p.household_number)
            .where(p.status == "active", p.birth_date <= born_by)
            .order_by(p.addressee_number)
            .limit(limit)
        )
        return [(number, household) for number, household in self.conn.execute(q).all()]
