"""The wire between the CS and J-LIS (cs/jlis_wire.py) and the CS's client (cs/adapters/jlis_client.py): the 31
items are the seed's, and every answer is read strictly — what is not one of the wire's answers is `Unreachable`
(tried again later), a feed entry with its place but not an answer's shape is a `MalformedAnswer`."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import juki.policy
from juki.cs.adapters.jlis_client import HttpsJlisClient
from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.jlis_wire import (
    MAILING_ITEMS,
    Answer,
    BlockRequest,
    MalformedAnswer,
    NotYetKnown,
    NumberRequestOut,
    Taken,
)
from juki.cs.wire import Accepted, Refused, Unreachable
from tests.cs.jlis_support import CITY, mailing_record

SEED = Path(juki.policy.__file__).parent / "data" / "mailing_info_items.csv"  # the assessment's 別添1(3)
CODE = "12345678903"


def test_the_mailing_items_are_the_seeds_31_in_order():
    with SEED.open(encoding="utf-8") as f:
        assert tuple(row["item"] for row in csv.DictReader(f)) == MAILING_ITEMS
    assert len(MAILING_ITEMS) == 31


def client(answer: Callable[[httpx.Request], httpx.Response]) -> HttpsJlisClient:
    http = httpx.Client(transport=httpx.MockTransport(answer))
    return HttpsJlisClient(HttpsPrefectureClient("https://jlis.test", http))


def answering(status: int, body: Any) -> HttpsJlisClient:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client(lambda request: httpx.Response(status, content=content))


BLOCK = BlockRequest("B-1", CITY, 2)


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, {"block_request_id": "B-2", "block_id": "J", "codes": [CODE]}),
     (200, {"block_request_id": "B-1", "block_id": "J", "codes": []}),
     (200, {"block_request_id": "B-1", "block_id": "J", "codes": [CODE, CODE, CODE]}),
     (200, {"block_request_id": "B-1", "block_id": "J", "codes": ["1234567890"]}),
     (200, {"block_request_id": "B-1", "codes": [CODE]}), (200, b"not json"), (200, [1]),
     (409, {"code": "something_else", "message": "x"}), (500, {}), (422, {"code": "format_error"})],
)  # fmt: skip
def test_a_block_answer_that_is_not_the_wires_is_no_answer(status, body):
    with pytest.raises(Unreachable):
        answering(status, body).issue_block(BLOCK)


def test_a_block_and_its_refusals_are_read():
    block = answering(200, {"block_request_id": "B-1", "block_id": "J", "codes": [CODE]}).issue_block(BLOCK)
    assert not isinstance(block, Refused) and block.codes == (CODE,) and block.block_id == "J"
    refused = answering(409, {"code": "block_request_reused", "message": "m" * 900}).issue_block(BLOCK)
    assert (
        isinstance(refused, Refused)
        and refused.code == "block_request_reused"
        and len(refused.message) == 500
    )


REQUEST = NumberRequestOut("N-1", "生成", CITY, CODE)


def test_a_request_is_taken_not_yet_known_or_refused():
    assert answering(202, {"request_id": "N-1", "duplicate": True}).request_number(REQUEST) == Taken(True)
    assert answering(409, {"code": "not_yet_known", "message": "…"}).request_number(REQUEST) == NotYetKnown()
    refused = answering(422, {"code": "format_error", "item": "住民票コード", "message": "…"}).request_number(
        REQUEST
    )
    assert refused == Refused("format_error", "住民票コード", "…")
    for status, body in ((202, {"request_id": "N-2", "duplicate": False}), (200, {}), (409, {"code": "x"})):
        with pytest.raises(Unreachable):
            answering(status, body).request_number(REQUEST)


def test_the_feed_is_read_in_order_and_an_entry_without_an_answers_shape_is_malformed():
    number = "123456789018"
    rows = [
        {"seq": 3, "request_id": "N-1", "resident_code": CODE, "my_number": number},
        {"seq": 4, "request_id": 5},
        {"seq": 5, "request_id": "N-2", "resident_code": CODE, "my_number": 123456789018},
        {"seq": 6, "request_id": "N-3", "resident_code": CODE, "my_number": number, "extra": 1},
    ]
    found = answering(200, {"answers": rows}).answers(CITY, 2)
    assert isinstance(found[0], Answer) and found[0].my_number == number and number not in repr(found)
    assert [type(a) for a in found[1:]] == [MalformedAnswer] * 3
    assert [getattr(a, "request_id", None) for a in found] == ["N-1", None, "N-2", "N-3"]
    assert all(number not in getattr(a, "reason", "") for a in found)


@pytest.mark.parametrize(
    "body",
    [{"answers": [{"seq": 2, "request_id": "N"}]},  # not after the cursor
     {"answers": [{"seq": 4}, {"seq": 3}]}, {"answers": [{"request_id": "N"}]}, {"answers": [5]}, {"answer": []},
     {"answers": [{"seq": True}]}],
)  # fmt: skip
def test_a_feed_that_cannot_be_placed_is_no_answer(body):
    with pytest.raises(Unreachable):
        answering(200, body).answers(CITY, 2)


def test_mailing_is_accepted_or_refused_by_the_wire_only():
    record = mailing_record("M-1", CODE)
    assert answering(200, {"record_id": "M-1", "duplicate": False}).deliver_mailing(record) == Accepted(False)
    refused = answering(422, {"code": "mismatch", "item": "送付先住所 漢字", "message": "…"}).deliver_mailing(
        record
    )
    assert refused == Refused("mismatch", "送付先住所 漢字", "…")
    for status, body in ((200, {"record_id": "M-2", "duplicate": False}), (422, {"code": "nope", "message": ""}),
                         (502, {}), (422, {"code": "mismatch", "item": 3, "message": ""})):  # fmt: skip
        with pytest.raises(Unreachable):
            answering(status, body).deliver_mailing(record)


def test_what_goes_on_the_wire():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"request_id": "N-1", "duplicate": False})

    client(answer).request_number(REQUEST)
    assert seen[0].url.path == "/jlis/v1/number-requests"
    assert json.loads(seen[0].content) == {
        "request_id": "N-1",
        "kind": "生成",
        "city_code": CITY,
        "resident_code": CODE,
    }
