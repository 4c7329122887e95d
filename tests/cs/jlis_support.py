"""Helpers for the tests of the numbers from J-LIS (test_jlis*.py, tests/integration/test_cs_numbers.py): a
送付先情報 record as the register builds it, the test hooks of the simulated J-LIS, and the leak check told of the
numbers J-LIS generated (they are made by the simulator, not by tests.factories)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from juki.bootstrap import Juki
from juki.cs.jlis_wire import MAILING_ITEMS, MailingRecord
from juki.sim.juki_net.jlis import Jlis
from juki.sim.juki_net.store import JukiNetStore
from tests.leakcheck import KNOWN

CITY = "132110"
ADDRESS = "東京都小平市小川町一丁目1番1号"


def mailing_items(record_id: str, address: str = ADDRESS, **changes: Any) -> dict[str, Any]:
    """The 31 items of a record addressed to 山田 太郎 at `address` (項目長 counting characters, as API.md says)."""
    name = "山田\u3000太郎"
    texts = {
        "送付先住所 漢字": address, "送付先氏名 漢字": name, "市町村名": "小平市",
        "市町村住所": "東京都小平市小川町二丁目1333番地", "交付場所名": "小平市役所\u3000市民課",
        "交付場所住所": "東京都小平市小川町二丁目1333番地", "カード送付場所名": "小平市役所\u3000市民課",
        "カード送付場所住所": "東京都小平市小川町二丁目1333番地",
    }  # fmt: skip
    items: dict[str, Any] = {}
    for item in MAILING_ITEMS:
        if item.endswith("項目長"):
            items[item] = len(texts[item.removesuffix("項目長").rstrip()])
        elif "外字数" in item:
            items[item] = 0
        elif item.endswith("郵便番号"):
            items[item] = "1878701"
        elif item.endswith("電話番号"):
            items[item] = "042-341-1211"
        else:
            items[item] = texts.get(item)
    items |= {"送付先管理番号": record_id, "市町村コード": CITY, "送付先郵便番号": "1870001"}
    return items | changes


def mailing_record(record_id: str, code: str, *, to_residence: bool = False, **changes: Any) -> MailingRecord:
    return MailingRecord(record_id, CITY, code, to_residence, mailing_items(record_id, **changes))


def hooks(data: Path) -> Jlis:
    """The simulated J-LIS's test hooks over a running simulator's folder (its own connection to the file)."""
    return Jlis(JukiNetStore(data))


def remember_numbers(j: Juki, *addressee_numbers: str) -> list[str | None]:
    """The persons' numbers as the register holds them now, told to the leak check (tests/leakcheck.py)."""
    found = []
    with j.uow() as uow:
        for number in addressee_numbers:
            state = uow.reader.resident(number)
            my_number = state.record.my_number if state is not None else None
            if my_number:
                KNOWN.add(my_number)
            found.append(my_number)
    return found
