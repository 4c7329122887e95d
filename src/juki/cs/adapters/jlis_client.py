"""The CS's client of J-LIS (cs/jlis_wire.py) over the CS's one mutual-TLS link to the 住基ネット
(`HttpsPrefectureClient.call`: the CS presents its client certificate, trusts only the 住基ネット CA).

Answers are read strictly, as the prefecture client reads them: what is not one of the wire's answers is
`Unreachable` and the step is tried again later. A feed entry with its place but without an answer's shape is a
`MalformedAnswer` (the CS moves past it, into its error queue). No message here quotes a value: a 住民票コード
appears only in a URL's query, and httpx's INFO lines are silenced where the CS runs (bootstrap).
"""

from __future__ import annotations

from typing import Any

import httpx

from juki.cs.adapters.prefecture_client import MESSAGE_LIMIT, HttpsPrefectureClient
from juki.cs.jlis_wire import (
    ANSWERS_PATH,
    BLOCK_REFUSALS,
    BLOCKS_PATH,
    ID_MAX,
    LINK_CODE_REFUSALS,
    LINK_CODES_PATH,
    MAILING_PATH,
    MAILING_REFUSALS,
    NETWORK_UNREACHABLE,
    NOT_YET_KNOWN,
    REQUEST_REFUSALS,
    REQUESTS_PATH,
    Answer,
    Block,
    BlockRequest,
    LinkCodeRequestOut,
    MailingRecord,
    MalformedAnswer,
    NetworkDown,
    NotYetKnown,
    NumberRequestOut,
    Taken,
)
from juki.cs.wire import Accepted, Refused, Unreachable


def _json(res: httpx.Response) -> dict[str, Any]:
    try:
        body = res.json()
    except ValueError:
        raise Unreachable(f"J-LIS's answer ({res.status_code}) is not JSON") from None
    if not isinstance(body, dict):
        raise Unreachable(f"J-LIS's answer ({res.status_code}) is not a JSON object")
    return body


def _refused(status: int, body: dict[str, Any], known: dict[int, frozenset[str]]) -> Refused:
    code, item, message = body.get("code"), body.get("item"), body.get("message")
    if code not in known.get(status, frozenset()) or not isinstance(message, str):
        raise Unreachable(f"J-LIS's refusal ({status}) is not one the wire knows")
    if item is not None and not isinstance(item, str):
        raise Unreachable(f"J-LIS's refusal ({status}) names no item")
    return Refused(str(code), item, message[:MESSAGE_LIMIT])


def _is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) == 11 and value.isascii() and value.isdigit()


class HttpsJlisClient:
    """`jlis_wire.JlisClient` over the 住基ネット's mutual-TLS link. Closing it closes the link."""

    def __init__(self, link: HttpsPrefectureClient) -> None:
        self.link = link

    def close(self) -> None:
        self.link.close()

    def __enter__(self) -> HttpsJlisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def issue_block(self, request: BlockRequest) -> Block | Refused:
        res = self.link.call("POST", BLOCKS_PATH, request.to_json())
        if res.status_code in BLOCK_REFUSALS:
            return _refused(res.status_code, _json(res), BLOCK_REFUSALS)
        if res.status_code != 200:
            raise Unreachable(f"J-LIS answered {res.status_code}")
        body = _json(res)
        codes, block_id = body.get("codes"), body.get("block_id")
        if body.get("block_request_id") != request.block_request_id or not isinstance(block_id, str):
            raise Unreachable("J-LIS's block does not answer the request")
        if not 0 < len(block_id) <= ID_MAX or not isinstance(codes, list) or not codes:
            raise Unreachable("J-LIS's block has no id or no codes")
        if len(codes) > request.size or not all(_is_code(c) for c in codes):
            raise Unreachable("J-LIS's block is not a list of 住民票コード of the size asked")
        return Block(request.block_request_id, block_id, tuple(codes))

    def request_number(self, request: NumberRequestOut) -> Taken | NotYetKnown | Refused:
        res = self.link.call("POST", REQUESTS_PATH, request.to_json())
        if res.status_code == 202:
            body = _json(res)
            duplicate = body.get("duplicate")
            if body.get("request_id") != request.request_id or not isinstance(duplicate, bool):
                raise Unreachable("J-LIS's acknowledgement does not match the request")
            return Taken(duplicate)
        if res.status_code == 409 and _json(res).get("code") == NOT_YET_KNOWN:
            return NotYetKnown()
        if res.status_code in REQUEST_REFUSALS:
            return _refused(res.status_code, _json(res), REQUEST_REFUSALS)
        raise Unreachable(f"J-LIS answered {res.status_code}")

    def answers(self, city_code: str, after: int) -> list[Answer | MalformedAnswer]:
        params = {"city_code": city_code, "after": str(after)}
        res = self.link.call("GET", ANSWERS_PATH, params=params)
        if res.status_code != 200:
            raise Unreachable(f"J-LIS answered {res.status_code}")
        rows = _json(res).get("answers")
        if not isinstance(rows, list):
            raise Unreachable("J-LIS's feed has no list of answers")
        answers = [_answer(row) for row in rows]
        places = [a.seq for a in answers]
        if places != sorted(set(places)) or any(seq <= after for seq in places):
            raise Unreachable("J-LIS's answers are not in order after the cursor")
        return answers

    def deliver_mailing(self, record: MailingRecord) -> Accepted | Refused:
        res = self.link.call("POST", MAILING_PATH, record.to_json())
        if res.status_code == 200:
            body = _json(res)
            duplicate = body.get("duplicate")
            if body.get("record_id") != record.record_id or not isinstance(duplicate, bool):
                raise Unreachable("J-LIS's acknowledgement does not match the record")
            return Accepted(duplicate)
        if res.status_code in MAILING_REFUSALS:
            return _refused(res.status_code, _json(res), MAILING_REFUSALS)
        raise Unreachable(f"J-LIS answered {res.status_code}")

    def request_link_code(self, request: LinkCodeRequestOut) -> Taken | NotYetKnown | NetworkDown | Refused:
        """A 符号取得の要求 (jlis_wire): the body carries the 個人番号, over the mutual-TLS link only; nothing here
        quotes it."""
        res = self.link.call("POST", LINK_CODES_PATH, request.to_json())
        if res.status_code == 202:
            body = _json(res)
            duplicate = body.get("duplicate")
            if body.get("serial") != request.serial or not isinstance(duplicate, bool):
                raise Unreachable("J-LIS's acknowledgement does not match the serial")
            return Taken(duplicate)
        if res.status_code == 409 and _json(res).get("code") == NOT_YET_KNOWN:
            return NotYetKnown()
        if res.status_code == 503 and _json(res).get("code") == NETWORK_UNREACHABLE:
            return NetworkDown()
        if res.status_code in LINK_CODE_REFUSALS:
            return _refused(res.status_code, _json(res), LINK_CODE_REFUSALS)
        raise Unreachable(f"J-LIS answered {res.status_code}")

    def mailing_of(self, resident_code: str) -> list[dict[str, Any]]:
        """What J-LIS received for a person (`GET /jlis/v1/mailing?resident_code=`): its records as they are."""
        res = self.link.call("GET", MAILING_PATH, params={"resident_code": resident_code})
        records = _json(res).get("records") if res.status_code == 200 else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise Unreachable(f"J-LIS answered {res.status_code} without records")
        return records


def _answer(row: object) -> Answer | MalformedAnswer:
    """One feed entry. Without a place it is no answer at all (the whole page is `Unreachable`: the cursor cannot
    move past what it cannot place); with one, anything else wrong makes it a `MalformedAnswer`."""
    if not isinstance(row, dict):
        raise Unreachable("an entry of J-LIS's feed is not a JSON object")
    seq = row.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise Unreachable("an entry of J-LIS's feed has no place")
    request_id, code, number = row.get("request_id"), row.get("resident_code"), row.get("my_number")
    named = request_id if isinstance(request_id, str) and 0 < len(request_id) <= ID_MAX else None
    if named is None:
        return MalformedAnswer(seq, "request_id がありません")
    if not isinstance(code, str) or not isinstance(number, str):
        return MalformedAnswer(seq, "resident_code または my_number が文字列ではありません", named)
    if set(row) - {"seq", "request_id", "resident_code", "my_number"}:
        return MalformedAnswer(seq, "回答にない項目があります", named)
    return Answer(seq, named, code, number)


def jlis_client(link: HttpsPrefectureClient) -> HttpsJlisClient:
    return HttpsJlisClient(link)
