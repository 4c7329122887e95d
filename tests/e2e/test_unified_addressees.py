"""The 団体内統合宛名 function's door for business systems (docs/intermediate-server.md): a department system whose
basis includes the 個人番号 registers its person with its own 宛名番号, the 個人番号 and the 4情報; the same
個人番号 from another system finds the same 団体内統合宛名番号 (assigned once, never handed back); a system without
the 個人番号 in its basis, a staff token and a malformed number are refused and logged, with nothing registered and
no number echoed."""

from __future__ import annotations

from typing import Any

import pytest

from juki.bootstrap import Juki
from juki.domain.identifiers import generate_my_number
from juki.intermediate.services import addressees
from tests.e2e.role_cases.intermediate import attach
from tests.e2e.test_roles import login_body
from tests.e2e.transfer_support import client_for, last_seq, log_rows, register, token
from tests.leakcheck import spellings

URL = "/api/v1/unified-addressees"


@pytest.fixture
def feed_client(j: Juki):
    attach(j)  # a migrated 中間サーバー of its own
    yield from client_for(j)


def _body(my_number: str, addressee_number: str = "K-000123") -> dict[str, Any]:
    return {"addressee_number": addressee_number, "my_number": my_number, "name": "山田\u3000太郎",
            "address": "東京都小平市小川町一丁目1番地", "birth_date": "1980-04-01", "sex": "male"}  # fmt: skip


def _unified(j: Juki, system_id: str, addressee_number: str) -> str | None:
    with j.intermediate.transaction() as store:
        return addressees.unified_of(store, system_id, addressee_number)


def test_two_systems_with_the_same_my_number_share_one_unified_number_never_handed_back(j, feed_client):
    import random

    number = generate_my_number(random.Random(17))
    hoken = token(feed_client, register(j, "hoken-nenkin"))
    first = feed_client.post(URL, json=_body(number), headers=hoken)
    assert (first.status_code, first.json()) == (200, {"registered": True})
    zeimu = token(feed_client, register(j, "zeimu"))
    second = feed_client.post(URL, json=_body(number, "Z-9"), headers=zeimu)
    assert second.status_code == 200, second.text
    mine, theirs = _unified(j, "hoken-nenkin", "K-000123"), _unified(j, "zeimu", "Z-9")
    assert mine is not None and mine == theirs and len(mine) == 15
    assert mine not in first.text + second.text
    assert not any(s in first.text + second.text for s in spellings(number))
    other = feed_client.post(
        URL, json=_body(generate_my_number(random.Random(18)), "K-000124"), headers=hoken
    )
    assert other.status_code == 200 and _unified(j, "hoken-nenkin", "K-000124") not in (None, mine)


def test_a_system_without_the_my_number_in_its_basis_is_refused_and_logged(j, feed_client):
    senkyo = token(feed_client, register(j, "senkyo"))
    seq = last_seq(j)
    res = feed_client.post(URL, json=_body("123456789018"), headers=senkyo)
    assert res.status_code == 403 and res.json()["errors"][0]["code"] == "forbidden"
    assert [r.result for r in log_rows(j, seq)] == ["denied"]
    assert _unified(j, "senkyo", "K-000123") is None


def test_a_staff_token_and_no_token_are_refused_and_logged(j, feed_client, totp):
    login = feed_client.post("/api/v1/auth/login", json=login_body(totp, "clerk"))
    staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
    seq = last_seq(j)
    assert feed_client.post(URL, json=_body("123456789018"), headers=staff).status_code == 403
    assert [(r.role, r.result) for r in log_rows(j, seq)] == [("clerk", "denied")]
    assert feed_client.post(URL, json=_body("123456789018")).status_code == 401
    assert _unified(j, "hoken-nenkin", "K-000123") is None


@pytest.mark.parametrize("bad", ["123456789010", "12345678901", "1234-5678-901x"])
def test_a_malformed_my_number_is_refused_without_echoing_it(j, feed_client, bad):
    hoken = token(feed_client, register(j, "hoken-nenkin"))
    res = feed_client.post(URL, json=_body(bad), headers=hoken)
    assert res.status_code == 422, res.text
    assert bad not in res.text and _unified(j, "hoken-nenkin", "K-000123") is None
