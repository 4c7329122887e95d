"""The CS's client of the national server's (全国サーバ) query (docs/cs-search.md): over the one mutual-TLS link of
the CS (`HttpsPrefectureClient.call`), `POST /national/v1/queries`.

    {"purpose": "30-10" | "30-12" | "30-14", "resident_code": "<11 digits>"}
    {"purpose": …, "name": "…", "birth_date": "YYYY-MM-DD", "sex": "男" | "女", "address": "…"}   (氏名 and 住所 or 生年月日)
  → 200 {"purpose": …, "persons": [{"resident_code", "sequence", "items": {…}}], "truncated": false}
  → 422 {"code": "purpose_required" | "unknown_purpose" | "search_needs_two_items" | "search_needs_name" |
         "format_error", "item": … | null, "message": …}

Answers are read strictly. A refusal with one of those codes is `QueryRefused` (with the CS's own words: the
server's message might quote a value); anything else — another status, a body not of that shape, an item name the
wire does not know, a person the conditions do not select (seed III(2)-5: 照会元から指定された検索条件に基づき得た
結果) — is no answer: `wire.Unreachable`. The 個人番号 is dropped from every person's items before anyone sees them.
"""

from __future__ import annotations

from typing import Any

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.domain import search as rules
from juki.cs.domain.items import MY_NUMBER
from juki.cs.services.search import Found, NationalAnswer, QueryRefused
from juki.cs.wire import ITEMS, Unreachable
from juki.domain.errors import DomainError
from juki.domain.identifiers import validate_resident_code

PATH = "/national/v1/queries"
REFUSALS = {
    "purpose_required": "照会の目的（根拠条文）が指定されていないため、全国サーバが照会を受け付けませんでした",
    "unknown_purpose": "全国サーバが照会の目的を受け付けませんでした",
    "search_needs_two_items": "検索条件が足りないため、全国サーバが照会を受け付けませんでした（性別以外の2項目以上）",
    "search_needs_name": "氏名のない照会は全国サーバが受け付けません（氏名と住所、または氏名と生年月日）",
    "format_error": "照会の項目の形式が正しくないため、全国サーバが照会を受け付けませんでした",
}


def body_of(purpose: str, c: rules.Conditions) -> dict[str, object]:
    """The query as the wire carries it: only the conditions given."""
    body: dict[str, object] = {"purpose": purpose}
    if c.resident_code is not None:
        return body | {"resident_code": c.resident_code}
    given = {
        "name": c.name,
        "birth_date": c.birth_date.isoformat() if c.birth_date else None,
        "sex": c.sex,
        "address": c.address,
    }
    return body | {k: v for k, v in given.items() if v is not None}


class HttpsNationalClient:
    """`search.NationalLink` over the CS's link to the 住基ネット (the link is the caller's to close)."""

    def __init__(self, link: HttpsPrefectureClient) -> None:
        self.link = link

    def query(self, purpose: str, conditions: rules.Conditions) -> NationalAnswer:
        res = self.link.call("POST", PATH, body_of(purpose, conditions))
        if res.status_code == 422:
            raise _refused(_json(res))
        if res.status_code != 200:
            raise Unreachable(f"the national server answered {res.status_code}")
        return _answer(_json(res), purpose, conditions)


def _json(res: Any) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        raise Unreachable(f"the national server's answer ({res.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise Unreachable(f"the national server's answer ({res.status_code}) is not a JSON object")
    return body


def _refused(body: dict[str, Any]) -> QueryRefused:
    code = body.get("code")
    if not isinstance(code, str) or code not in REFUSALS or not isinstance(body.get("message"), str):
        raise Unreachable("the national server's refusal is not one the wire knows")
    item = body.get("item")
    return QueryRefused(
        REFUSALS[code], field=item if isinstance(item, str) and item in ITEMS else None, code=code
    )


def _answer(body: dict[str, Any], purpose: str, conditions: rules.Conditions) -> NationalAnswer:
    persons, truncated = body.get("persons"), body.get("truncated")
    if body.get("purpose") != purpose or not isinstance(persons, list) or not isinstance(truncated, bool):
        raise Unreachable("the national server's answer is not the answer to this query")
    meets = rules.matcher(conditions)
    found = [_person(p) for p in persons]
    if not all(meets(p.items) for p in found):
        raise Unreachable("the national server's answer holds a person the conditions do not select")
    return NationalAnswer(found, truncated)


def _person(p: object) -> Found:
    if not isinstance(p, dict) or not isinstance(p.get("items"), dict):
        raise Unreachable("a person of the national server's answer is not an object with items")
    code, sequence, items = p.get("resident_code"), p.get("sequence"), p["items"]
    try:
        valid = isinstance(code, str) and validate_resident_code(code) == code
    except DomainError:
        valid = False
    if not valid or items.get(rules.RESIDENT_CODE) != code:
        raise Unreachable("a person of the national server's answer has no valid 住民票コード")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise Unreachable("a person of the national server's answer has no 更新順番号")
    if not set(items) <= set(ITEMS) or not all(v is None or isinstance(v, str) for v in items.values()):
        raise Unreachable("a person of the national server's answer has items the wire does not know")
    return Found(str(code), {k: v for k, v in items.items() if k != MY_NUMBER})
