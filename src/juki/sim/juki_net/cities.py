"""Other cities' CSs on the simulated 住基ネット: 転出証明書情報 (住基法24条の2第3項) and 転入通知 (住基法9条1項)
between cities, in both directions (docs/cs-transfers.md).

- The network routes telegrams: `POST /cities/v1/{city}/moveout-certificates` and `/move-in-notices` keep a
  telegram for a city of the network (`known_city`), checked like a receiving CS checks it; every city has an inbox
  (`GET /cities/v1/{city}/inbox?after=n`), from which our CS takes what is addressed to it.
- The simulator plays the other cities, which a test makes act through control endpoints:
  `POST /cities/v1/{city}/control/move-out` (its 特例転出 of a person to another city: a 転出証明書情報 in that
  city's inbox), `POST /cities/v1/{city}/control/move-in` (its 特例転入 of a person whose 転出証明書情報 it holds:
  the person recorded as its resident, as its prefecture's copy, and a 転入通知 in the previous city's inbox);
  `GET /cities/v1/{city}/control/received` and `/control/residents/{code}` show what it holds.

The other cities are in other prefectures: their residents are not the simulated prefecture's (東京都's) and their
notices go to their own prefecture, kept here as `city_residents`. So our prefecture's copy of a person who left
for one of them changes only by our CS's own notices (転出, then 転入通知受理).

Every peer of the network's CA may use every endpoint: uvicorn does not show the application the client's
certificate, so the simulator cannot route by it as the real 住基ネット does. Items are sealed at rest (store.seal);
the log names telegram ids and codes, never a value.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from juki.cs.domain.transfers import is_city_code
from juki.cs.wire import TELEGRAM_ITEMS, TelegramKind
from juki.domain.identifiers import my_number_check_digit, resident_code_check_digit
from juki.sim.juki_net.checks import Problem
from juki.sim.juki_net.store import JukiNetStore

log = logging.getLogger("juki.sim.juki_net.cities")


def known_city(code: object) -> bool:
    """A city of the simulated network: a 全国地方公共団体コード (its check digit right) of a prefecture, 01 to 47
    (JIS X 0401). The real network knows exactly the municipalities; this one plays any of them."""
    return is_city_code(code) and isinstance(code, str) and 1 <= int(code[:2]) <= 47


_SCHEMA = """
CREATE TABLE IF NOT EXISTS city_telegrams (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    from_city TEXT NOT NULL,
    to_city TEXT NOT NULL,
    items BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS city_telegrams_to ON city_telegrams (to_city, seq);
CREATE TABLE IF NOT EXISTS city_residents (
    city_code TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    items BLOB NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (city_code, resident_code)
);
"""
_DATES = ("生年月日", "住民となった日", "住所を定めた日", "転出予定日", "転入日", "通知日")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _checked(value: object, length: int, check: Any) -> bool:
    return (
        isinstance(value, str)
        and re.fullmatch(rf"[0-9]{{{length}}}", value) is not None
        and check(value[:-1]) == value[-1]
    )


def _known(city: str) -> None:
    if not known_city(city):
        raise Problem(404, "unknown_city", None, "住基ネットにない市町村です")


def check_items(kind: TelegramKind, raw: object) -> dict[str, str | None]:
    """A telegram's items as a receiving CS checks them (names, strings, check digits, dates)."""
    if not isinstance(raw, dict):
        raise Problem(422, "format_error", None, "items は項目名と値の対応でなければなりません")
    for name, value in raw.items():
        if name not in TELEGRAM_ITEMS[kind]:
            raise Problem(422, "format_error", str(name)[:40], "電文の項目ではありません")
        if value is not None and not isinstance(value, str):
            raise Problem(422, "format_error", name, f"{name}の値は文字列か null です")
    if not _checked(raw.get("住民票コード"), 11, resident_code_check_digit):
        raise Problem(
            422,
            "format_error",
            "住民票コード",
            "住民票コードは11桁の数字で検査数字が正しくなければなりません",
        )
    number = raw.get("個人番号")
    if number is not None and not _checked(number, 12, my_number_check_digit):
        raise Problem(
            422, "format_error", "個人番号", "個人番号は12桁の数字で検査数字が正しくなければなりません"
        )
    for name in _DATES:
        if raw.get(name) is not None and not _is_date(raw[name]):
            raise Problem(422, "format_error", name, f"{name}は YYYY-MM-DD の日付です")
    return dict(raw)


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) is not None


class Cities:
    """The network's telegrams between cities and the other cities' residents, in the simulator's file."""

    def __init__(self, store: JukiNetStore) -> None:
        self.store = store
        with store.locked() as db:
            db.executescript(_SCHEMA)

    def keep(self, kind: TelegramKind, to_city: str, body: object) -> bool:
        """A telegram for `to_city`, kept in its inbox; True when it is a repeat of one kept (kept once)."""
        _known(to_city)
        if not isinstance(body, dict):
            raise Problem(422, "format_error", None, "電文は JSON のオブジェクトです")
        telegram_id, from_city = body.get("telegram_id"), body.get("from_city_code")
        if not isinstance(telegram_id, str) or not 0 < len(telegram_id) <= 64:
            raise Problem(422, "format_error", None, "telegram_id は64文字までの文字列です")
        if not isinstance(from_city, str) or not known_city(from_city) or from_city == to_city:
            raise Problem(422, "unknown_city", "from_city_code", "送信元の市町村が住基ネットにありません")
        items = check_items(kind, body.get("items"))
        with self.store.locked() as db:
            return self._insert(db, telegram_id, kind, from_city, to_city, items)

    def _insert(self, db: sqlite3.Connection, telegram_id: str, kind: TelegramKind, from_city: str,
                to_city: str, items: dict[str, str | None]) -> bool:  # fmt: skip
        row = db.execute(
            "SELECT kind, from_city, to_city, items FROM city_telegrams WHERE telegram_id = ?", (telegram_id,)
        ).fetchone()
        if row is not None:
            if (row[0], row[1], row[2], self.store.unseal(row[3])) == (kind.value, from_city, to_city, items):
                return True
            raise Problem(409, "telegram_reused", None, "この電文IDは別の内容で受け付け済みです")
        db.execute(
            "INSERT INTO city_telegrams (telegram_id, kind, from_city, to_city, items, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (telegram_id, kind.value, from_city, to_city, self.store.seal(items), _now()),
        )
        return False

    def inbox(self, city: str, after: int) -> list[dict[str, object]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT seq, telegram_id, kind, from_city, items FROM city_telegrams "
                "WHERE to_city = ? AND seq > ? ORDER BY seq",
                (city, after),
            ).fetchall()
        return [
            {
                "seq": r[0],
                "telegram_id": r[1],
                "kind": r[2],
                "from_city_code": r[3],
                "items": self.store.unseal(r[4]),
            }
            for r in rows
        ]

    def certificate_for(self, city: str, resident_code: str) -> tuple[str, dict[str, str | None]] | None:
        """The latest 転出証明書情報 `city` received for the person: its sender and items."""
        for row in reversed(self.inbox(city, 0)):
            items = row["items"]
            certificate = row["kind"] == TelegramKind.MOVE_OUT_CERTIFICATE.value and isinstance(items, dict)
            if certificate and isinstance(items, dict) and items.get("住民票コード") == resident_code:
                return str(row["from_city_code"]), items
        return None

    def settle(self, city: str, resident_code: str, items: dict[str, str | None]) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT OR REPLACE INTO city_residents VALUES (?, ?, ?, ?)",
                (city, resident_code, self.store.seal(items), _now()),
            )

    def resident(self, city: str, resident_code: str) -> dict[str, str | None] | None:
        with self.store.locked() as db:
            row = db.execute(
                "SELECT items FROM city_residents WHERE city_code = ? AND resident_code = ?",
                (city, resident_code),
            ).fetchone()
        return None if row is None else self.store.unseal(row[0])


def _body(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _move_in(cities: Cities, city: str, body: object) -> dict[str, object]:
    """The other city's 特例転入 of a person whose 転出証明書情報 it holds: its resident (its prefecture's copy),
    and its 転入通知 to the previous city."""
    _known(city)
    if not isinstance(body, dict) or not all(
        isinstance(body.get(k), str) for k in ("resident_code", "moved_in_on", "address")
    ):
        raise Problem(422, "format_error", None, "resident_code, moved_in_on, address が必要です")
    code, moved_in_on = str(body["resident_code"]), str(body["moved_in_on"])
    held = cities.certificate_for(city, code)
    if held is None:
        raise Problem(404, "no_certificate", "住民票コード", "この者の転出証明書情報を受け取っていません")
    previous_city, certificate = held
    record = {
        k: v for k, v in certificate.items() if k not in ("転出予定日", "転出先住所", "転出先市町村コード")
    }
    cities.settle(city, code, record | {
        "市町村コード": city, "住所": str(body["address"]), "住民となった日": moved_in_on, "住所を定めた日": moved_in_on,
        "市町村コード(転入前)": previous_city, "転入前住所": certificate.get("住所"), "異動事由": "特例転入",
        "異動年月日": moved_in_on, "レコード状況フラグ": "0",
    })  # fmt: skip
    notice = {"住民票コード": code, "転入日": moved_in_on, "転入先住所": str(body["address"]),
              "通知日": str(body.get("notified_on") or date.today().isoformat())}  # fmt: skip
    telegram_id = f"{city}-in-{code}-{moved_in_on}"
    cities.keep(TelegramKind.MOVE_IN_NOTICE, previous_city,
                {"telegram_id": telegram_id, "from_city_code": city, "items": notice})  # fmt: skip
    return {"telegram_id": telegram_id}


def _move_out(cities: Cities, city: str, body: object) -> dict[str, object]:
    """The other city's 特例転出 of a person to `to_city_code`: its 転出証明書情報 in that city's inbox."""
    _known(city)
    if not isinstance(body, dict) or not isinstance(body.get("to_city_code"), str):
        raise Problem(422, "format_error", "to_city_code", "to_city_code が必要です")
    items = check_items(TelegramKind.MOVE_OUT_CERTIFICATE, body.get("items"))
    telegram_id = str(
        body.get("telegram_id") or f"{city}-out-{items['住民票コード']}-{items.get('転出予定日')}"
    )
    cities.keep(TelegramKind.MOVE_OUT_CERTIFICATE, str(body["to_city_code"]),
                {"telegram_id": telegram_id, "from_city_code": city, "items": items})  # fmt: skip
    return {"telegram_id": telegram_id}


def _inbox(cities: Cities, city: str, after: int) -> dict[str, object]:
    _known(city)
    return {"telegrams": cities.inbox(city, after)}


def _answer(call: Any) -> JSONResponse:
    try:
        return JSONResponse(call())
    except Problem as refusal:
        log.info("cities: refused %s (%s)", refusal.code, refusal.item or "-")
        return refusal.answer()


def router(store: JukiNetStore) -> APIRouter:
    cities = Cities(store)
    api = APIRouter()

    def telegram(kind: TelegramKind) -> Any:
        async def receive(city: str, request: Request) -> JSONResponse:
            body = _body(await request.body())

            def kept() -> dict[str, object]:
                duplicate = cities.keep(kind, city, body)
                telegram_id = body.get("telegram_id") if isinstance(body, dict) else None
                log.info(
                    "cities: %s %s kept%s", kind.value, str(telegram_id)[:64], " again" if duplicate else ""
                )
                return {"telegram_id": telegram_id, "duplicate": duplicate}

            return _answer(kept)

        return receive

    api.add_api_route("/cities/v1/{city}/moveout-certificates", telegram(TelegramKind.MOVE_OUT_CERTIFICATE),
                      methods=["POST"])  # fmt: skip
    api.add_api_route(
        "/cities/v1/{city}/move-in-notices", telegram(TelegramKind.MOVE_IN_NOTICE), methods=["POST"]
    )

    @api.get("/cities/v1/{city}/inbox")
    def inbox(city: str, after: int = 0) -> JSONResponse:
        return _answer(lambda: _inbox(cities, city, after))

    @api.post("/cities/v1/{city}/control/move-out")
    async def move_out(city: str, request: Request) -> JSONResponse:
        body = _body(await request.body())
        return _answer(lambda: _move_out(cities, city, body))

    @api.post("/cities/v1/{city}/control/move-in")
    async def move_in(city: str, request: Request) -> JSONResponse:
        body = _body(await request.body())
        return _answer(lambda: _move_in(cities, city, body))

    @api.get("/cities/v1/{city}/control/received")
    def received(city: str) -> JSONResponse:
        return _answer(lambda: _inbox(cities, city, 0))

    @api.get("/cities/v1/{city}/control/residents/{resident_code}")
    def resident(city: str, resident_code: str) -> JSONResponse:
        held = cities.resident(city, resident_code)
        if held is None:
            return JSONResponse({"code": "not_found", "message": "保有していません"}, status_code=404)
        return JSONResponse({"resident_code": resident_code, "items": held})

    return api
