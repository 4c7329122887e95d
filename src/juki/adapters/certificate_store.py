"""Certificates in SQL and the composition of the certificate office (rendering + storage) for the services.

The issuance record is written through the unit of work's connection, so the record, the 発行番号's counter and the
operation-log entry of an issuance share one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, func, insert, select

from juki.adapters import pdf
from juki.adapters import tables as t
from juki.adapters.repository import next_daily_counter
from juki.adapters.rows import AnyRow
from juki.domain.certificates import Issuer
from juki.services.certificates import CertificateOffice, IssuanceStore

i = t.certificate_issuances.c


class SqlIssuanceStore(IssuanceStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_number(self, day: date) -> str:
        """発行番号 `YYYYMMDD-NNNNNN`, sequential per day."""
        return f"{day:%Y%m%d}-{next_daily_counter(self.conn, 'certificate', day):06d}"

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.certificate_issuances).values(**values))

    def get(self, number: str) -> AnyRow | None:
        return self.conn.execute(select(t.certificate_issuances).where(i.issuance_number == number)).first()

    def disposal(self, number: str) -> AnyRow | None:
        d = t.certificate_disposals.c
        return self.conn.execute(select(t.certificate_disposals).where(d.issuance_number == number)).first()

    def dispose(self, number: str, at: datetime, staff_id: str, reason: str) -> None:
        self.conn.execute(
            insert(t.certificate_disposals).values(
                issuance_number=number, disposed_at=at, staff_id=staff_id, reason=reason
            )
        )

    def settings(self) -> AnyRow | None:
        """The settings version in force (the newest), or None before the first change."""
        s = t.certificate_settings.c
        return self.conn.execute(select(t.certificate_settings).order_by(s.version.desc()).limit(1)).first()

    def add_settings(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.certificate_settings).values(**values))

    def add_overflows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(t.certificate_overflows), rows)

    def overflows_on(self, day: date, limit: int = 2000) -> list[AnyRow]:
        """The 文字超過リスト of a day: each line with its issuance's kind, time, terminal and staff member."""
        o = t.certificate_overflows.c
        q = (
            select(o.issuance_number, o.line, o.addressee_number, o.item, o.problem, o.text)
            .add_columns(i.kind, i.issued_at, i.terminal, i.staff_id, i.channel, i.addressee_numbers)
            .join(t.certificate_issuances, i.issuance_number == o.issuance_number)
            .where(o.issued_on == day)
            .order_by(o.issuance_number, o.line)
            .limit(limit)
        )
        return list(self.conn.execute(q).all())

    def overflow_count(self, issuance_number: str) -> int:
        o = t.certificate_overflows.c
        q = select(func.count()).where(o.issuance_number == issuance_number)
        return int(self.conn.execute(q).scalar_one())

    def for_person(self, addressee_number: str, limit: int = 500) -> list[AnyRow]:
        """交付履歴照会 (j360), newest first. The addressee numbers are a JSON list of quoted strings."""
        q = (
            select(t.certificate_issuances)
            .where(cast(i.addressee_numbers, Text).contains(f'"{addressee_number}"', autoescape=True))
            .order_by(i.issued_at.desc(), i.issuance_number.desc())
            .limit(limit)
        )
        return list(self.conn.execute(q).all())


def issuance_store(uow: Any) -> SqlIssuanceStore:
    """The store over a SQL unit of work's transaction (`adapters.uow.SqlUnitOfWork.conn`)."""
    return SqlIssuanceStore(uow.conn)


def certificate_office(
    verify_base_url: str = "http://localhost:8000/", issuer: Issuer | None = None
) -> CertificateOffice:
    """What the certificate service needs from outside: the PDF renderer and the issuance store."""
    return CertificateOffice(
        render=lambda documents: pdf.render(documents),
        render_list=pdf.render_overflow_list,
        store=issuance_store,
        issuer=issuer or Issuer(),
        verify_base_url=verify_base_url,
    )
