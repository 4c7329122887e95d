"""The national server's (全国サーバ) answers to a city CS's 本人確認情報 queries (住基法30条の10/12/14;
docs/cs-search.md): `POST /national/v1/queries`.

A query states its purpose (a key of `juki.cs.domain.search.PURPOSES`) and either a 住民票コード alone or the 4情報
under the seed's rule (III(2)-3: 氏名 with 住所 or 生年月日; 性別 narrows). Without a purpose it is refused
(`422 purpose_required`), with too few items too (`search_needs_two_items`, `search_needs_name`), and a value of the
wrong shape is `format_error` naming the item. The answer is every person of the national server's copy that meets
the conditions (`store.all_held(national=True)`), at most MAX_ANSWERS (`truncated` says more met them), each as
`{"resident_code", "sequence", "items"}` without the 個人番号: the operator's 本人確認 does not need it.

The simulator records the purpose in its log line but does not check it against the person's prefecture (30条の10
is for persons the querying city's own prefecture notified, 30条の12 for the others): that needs the peer's
prefecture, which the simulator's certificates do not carry. The log line holds the purpose, the item names and the
count — never a value nor a 住民票コード.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from juki.cs.domain import search as rules
from juki.cs.domain.items import MY_NUMBER
from juki.domain.errors import DomainError
from juki.sim.juki_net.checks import Problem
from juki.sim.juki_net.store import JukiNetStore

log = logging.getLogger("juki.sim.juki_net")
KEYS = {"purpose", "resident_code", "name", "birth_date", "sex", "address"}
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_ITEM_OF = {"resident_code": rules.RESIDENT_CODE, "name": rules.NAME, "birth_date": rules.BIRTH_DATE,
            "sex": rules.SEX, "address": rules.ADDRESS}  # fmt: skip


def _format(item: str | None, message: str) -> Problem:
    return Problem(422, "format_error", item, message)


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _format(None, "照会はJSONのオブジェクトです") from None
    if not isinstance(body, dict):
        raise _format(None, "照会はJSONのオブジェクトです")
    unknown = sorted(set(body) - KEYS)
    if unknown:
        raise _format(None, "照会に使えない項目があります: " + "、".join(unknown[:5]))
    for key, value in body.items():
        if value is not None and not isinstance(value, str):
            raise _format(_ITEM_OF.get(key), "照会の値は文字列です")
    return body


def _birth_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        if not _ISO.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise _format(rules.BIRTH_DATE, "生年月日は YYYY-MM-DD です") from None


def parse(raw: bytes) -> tuple[str, rules.Conditions]:
    """The purpose and the conditions of a query, or the `Problem` the wire answers."""
    body = _body(raw)
    try:
        purpose = rules.purpose_of(body.get("purpose"))
    except DomainError as exc:
        code = "unknown_purpose" if exc.code == "invalid_field" else exc.code
        raise Problem(422, code, None, exc.message) from None
    born = _birth_date(body.get("birth_date"))
    try:
        c = rules.conditions(
            body.get("resident_code"), body.get("name"), body.get("address"), born, body.get("sex")
        )
    except DomainError as exc:
        if exc.code in ("search_needs_two_items", "search_needs_name"):
            raise Problem(422, exc.code, None, exc.message) from None
        raise _format(_ITEM_OF.get(exc.field or ""), exc.message) from None
    return purpose, c


def answer(store: JukiNetStore, purpose: str, c: rules.Conditions) -> dict[str, Any]:
    if c.resident_code is not None:
        held = store.held(c.resident_code, national=True)
        candidates = [] if held is None else [(c.resident_code, held)]
    else:
        candidates = store.all_held(national=True)
    meets = rules.matcher(c)
    persons = [
        {
            "resident_code": code,
            "sequence": h.sequence,
            "items": {k: v for k, v in h.items.items() if k != MY_NUMBER},
        }
        for code, h in candidates
        if meets(h.items)
    ]
    return {
        "purpose": purpose,
        "persons": persons[: rules.MAX_ANSWERS],
        "truncated": len(persons) > rules.MAX_ANSWERS,
    }


def router(store: JukiNetStore) -> APIRouter:
    api = APIRouter()

    @api.post("/national/v1/queries")
    async def queries(request: Request) -> JSONResponse:
        try:
            purpose, c = parse(await request.body())
        except Problem as refused:
            log.info("national query refused: %s (%s)", refused.code, refused.item or "-")
            return refused.answer()
        body = answer(store, purpose, c)
        log.info("national query (%s, by %s): %d persons", purpose, "・".join(c.items), len(body["persons"]))
        return JSONResponse(body)

    return api
