"""Helpers for the simulated 住基ネット's tests (test_juki_net_*.py): a person's items, a notice, the CS's client."""

from __future__ import annotations

import random
import socket
import ssl
import uuid
from pathlib import Path

from juki.cs.adapters.prefecture_client import HttpsPrefectureClient
from juki.cs.wire import Notice, NoticeKind
from juki.domain.identifiers import generate_resident_code
from tests import factories

NAME = "山田\u3000太郎"


def resident_code(seed: int = 1) -> str:
    return generate_resident_code(random.Random(seed))


def person_items(code: str, my_number: str, sequence: int, kind: NoticeKind) -> dict[str, str | None]:
    """The items of a notice for one person: a resident of 小平市 (what the CS sends, abridged)."""
    return {
        "住民票コード": code,
        "漢字氏名": NAME,
        "外字数(氏名)": "0",
        "ふりがな氏名": "やまだ\u3000たろう",
        "生年月日": "1980-04-01",
        "性別": "男",
        "市町村コード": "132110",
        "住所": "東京都小平市小川町一丁目1番1号",
        "外字数(住所)": "0",
        "個人番号": my_number,
        "続柄": "世帯主",
        "異動事由": kind.value,
        "異動年月日": "2025-06-01",
        "更新順番号": str(sequence),
        "操作者ID": "clerk1",
        "操作端末ID": "T01",
    }


def my_number() -> str:
    return factories.generate_my_number(random.Random(7))


def notice(code: str, sequence: int, kind: NoticeKind, number: str, **changes: str | None) -> Notice:
    items = person_items(code, number, sequence, kind) | changes
    return Notice(f"n-{uuid.uuid4().hex[:12]}-{sequence}", kind, code, sequence, items)  # names nobody


def mutual_tls(ca: Path, folder: Path, stem: str = "client") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(folder / f"{stem}.pem"), str(folder / f"{stem}.key"))
    return context


def cs_client(url: str, folder: Path, *, timeout: float = 5.0) -> HttpsPrefectureClient:
    return HttpsPrefectureClient.over_mutual_tls(
        url, folder / "ca.pem", folder / "client.pem", folder / "client.key", timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
