"""The CS's client of the other cities' CSs through the 住基ネット: juki.cs.wire's `CitiesClient` over the same
mutual-TLS link as the prefecture's (`HttpsPrefectureClient.call`).

Answers are read strictly, as the prefecture client reads them: what is not one of the wire's answers is
`Unreachable` and the telegram is sent again later. `Unreachable`'s message names what went wrong, never a value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from juki.cs.adapters.prefecture_client import MESSAGE_LIMIT, HttpsPrefectureClient, JukiNetConfig
from juki.cs.wire import (
    TELEGRAM_PATHS,
    TELEGRAM_REFUSALS,
    Accepted,
    Received,
    Refused,
    Telegram,
    TelegramKind,
    Unreachable,
)


def _json(res: httpx.Response) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        raise Unreachable(f"the answer ({res.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise Unreachable(f"the answer ({res.status_code}) is not a JSON object")
    return body


class HttpsCitiesClient:
    """`CitiesClient` over the 住基ネット's mutual-TLS link. Closing it closes the link."""

    def __init__(self, link: HttpsPrefectureClient) -> None:
        self.link = link

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> HttpsCitiesClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, telegram: Telegram) -> Accepted | Refused:
        path = f"/cities/v1/{quote(telegram.to_city_code, safe='')}/{TELEGRAM_PATHS[telegram.kind]}"
        res = self.link.call("POST", path, telegram.to_json())
        if res.status_code == 200:
            body = _json(res)
            duplicate = body.get("duplicate")
            if body.get("telegram_id") != telegram.telegram_id or not isinstance(duplicate, bool):
                raise Unreachable("the acknowledgement does not match the telegram")
            return Accepted(duplicate)
        if res.status_code in TELEGRAM_REFUSALS:
            return _refused(res.status_code, _json(res))
        raise Unreachable(f"the 住基ネット answered {res.status_code}")

    def inbox(self, city_code: str, after: int) -> list[Received]:
        res = self.link.call(
            "GET", f"/cities/v1/{quote(city_code, safe='')}/inbox", params={"after": str(after)}
        )
        if res.status_code != 200:
            raise Unreachable(f"the 住基ネット answered {res.status_code}")
        rows = _json(res).get("telegrams")
        if not isinstance(rows, list):
            raise Unreachable("the inbox's answer has no list of telegrams")
        received = [_received(row, city_code) for row in rows]
        places = [r.seq for r in received]
        if places != sorted(set(places)) or any(seq <= after for seq in places):
            raise Unreachable("the inbox's telegrams are not in order after the cursor")
        return received


def _refused(status: int, body: dict[str, Any]) -> Refused:
    code, item, message = body.get("code"), body.get("item"), body.get("message")
    if code not in TELEGRAM_REFUSALS[status] or not isinstance(message, str):
        raise Unreachable(f"the refusal ({status}) is not one the wire knows")
    if item is not None and not isinstance(item, str):
        raise Unreachable(f"the refusal ({status}) names no item")
    return Refused(str(code), item, message[:MESSAGE_LIMIT])


def _received(row: object, city_code: str) -> Received:
    if not isinstance(row, dict):
        raise Unreachable("an inbox entry is not a JSON object")
    seq, telegram_id, kind = row.get("seq"), row.get("telegram_id"), row.get("kind")
    from_city, items = row.get("from_city_code"), row.get("items")
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or not isinstance(telegram_id, str)
        or not telegram_id
    ):
        raise Unreachable("an inbox entry has no place or id")
    if (
        kind not in {k.value for k in TelegramKind}
        or not isinstance(from_city, str)
        or not isinstance(items, dict)
    ):
        raise Unreachable("an inbox entry is not a telegram the wire knows")
    kept: dict[str, Any] = {
        str(k): v for k, v in items.items()
    }  # as they came: the CS checks them (format_error)
    return Received(seq, Telegram(telegram_id[:64], TelegramKind(kind), from_city, city_code, kept))


def cities_client(config: JukiNetConfig) -> HttpsCitiesClient:
    """The CS's client of the other cities, over the link `juki-net.json` describes."""
    return HttpsCitiesClient(config.client())
