"""The 住民票コード stock and the 個人番号 requests in SQL (`uow.numbers`; migration 0016, docs/numbers.md).

Append-only both: a code is taken by a row of `resident_code_uses` (its primary key makes a second taking a
conflict), a request is closed by a row of `my_number_request_answers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from juki.adapters import tables as t
from juki.services.number_ports import NumberRequest

s, u, res = t.resident_code_stock.c, t.resident_code_uses.c, t.residents.c
q, a = t.my_number_requests.c, t.my_number_request_answers.c
CHUNK = 1000  # codes per IN (…) or INSERT


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _request(row: Any) -> NumberRequest:
    return NumberRequest(
        row.request_id, row.kind, row.addressee_number, row.resident_code, row.filing_id, row.requested_at
    )


class SqlNumberStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def in_stock(self, codes: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(codes))):
            found |= set(self.conn.execute(select(s.code).where(s.code.in_(chunk))).scalars())
        return found

    def held(self, codes: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(codes))):
            rows = self.conn.execute(select(res.resident_code).where(res.resident_code.in_(chunk))).scalars()
            found |= {code for code in rows if code is not None}
        return found

    def add_stock(self, block_id: str, codes: Iterable[str], at: datetime) -> None:
        for chunk in _chunks(list(codes)):
            self.conn.execute(
                insert(t.resident_code_stock),
                [{"code": code, "block_id": block_id, "received_at": at} for code in chunk],
            )

    def available(self) -> int:
        query = (
            select(func.count())
            .select_from(t.resident_code_stock)
            .where(
                ~select(u.code).where(u.code == s.code).exists(),
                ~select(res.resident_code).where(res.resident_code == s.code).exists(),
            )
        )
        return int(self.conn.execute(query).scalar_one())

    def add_request(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.my_number_requests).values(**values))

    def _open(self) -> Any:
        return select(t.my_number_requests).where(
            ~select(a.request_id).where(a.request_id == q.request_id).exists()
        )

    def open_request(self, request_id: str) -> NumberRequest | None:
        row = self.conn.execute(self._open().where(q.request_id == request_id)).first()
        return _request(row) if row else None

    def open_request_of(self, addressee_number: str) -> NumberRequest | None:
        row = self.conn.execute(
            self._open().where(q.addressee_number == addressee_number).order_by(q.requested_at)
        ).first()
        return _request(row) if row else None

    def open_requests(self, limit: int) -> list[NumberRequest]:
        rows = self.conn.execute(self._open().order_by(q.requested_at, q.request_id).limit(limit))
        return [_request(row) for row in rows]

    def answer(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.my_number_request_answers).values(**values))
