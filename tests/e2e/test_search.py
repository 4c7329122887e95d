"""Searching the register (seed III: two of name / address / birth date; 標準仕様書 j330 kana matching)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.e2e.test_filings import error_code, file


@pytest.fixture
def yamada(client, headers) -> list[str]:
    people = [
        f.person(given_name="太郎", given_name_kana="タロウ", birth_date="1980-04-01"),
        f.person("子", given_name="次郎", given_name_kana="ジロウ", birth_date="2010-05-05"),
    ]
    body = file(client, headers, "move-in", f.move_in(people))
    other = f.person(
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        birth_date="1955-01-01",
    )
    file(
        client, headers, "move-in", f.move_in([other], address={"address": "東京都小平市天神町一丁目1番1号"})
    )
    return [c["addressee_number"] for c in body["changes"]]


def search(client, headers, **params):
    res = client.get("/api/v1/residents", params=params, headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return [r["addressee_number"] for r in res.json()["results"]]


def test_name_and_birth_date_find_the_person(client, headers, yamada):
    assert search(client, headers, name="山田 太郎", birth_date="1980-04-01") == [yamada[0]]


def test_full_width_space_separates_family_and_given_name(client, headers, yamada):
    assert search(client, headers, name="山田　太郎", birth_date="1980-04-01") == [yamada[0]]


def test_name_without_space_matches_family_given_or_both(client, headers, yamada):
    assert search(client, headers, name="山田太郎", birth_date="1980-04-01") == [yamada[0]]
    assert search(client, headers, name="次郎", birth_date="2010-05-05") == [yamada[1]]


def test_kana_in_hiragana_or_half_width_and_without_voicing_marks_matches(client, headers, yamada):
    assert search(client, headers, name="やまだ じろう", birth_date="2010-05-05") == [yamada[1]]
    assert search(client, headers, name="ﾔﾏﾀﾞ ｼﾛｳ", birth_date="2010-05-05") == [yamada[1]]


def test_wareki_birth_date_is_accepted(client, headers, yamada):
    assert search(client, headers, name="山田 太郎", birth_date="昭和55年4月1日") == [yamada[0]]


def test_name_and_address_find_people_at_that_address(client, headers, yamada):
    assert search(client, headers, name="山田", address="小川町1丁目") == yamada
    assert search(client, headers, name="山田", address="天神町一丁目") != []


def test_one_criterion_is_not_enough_and_sex_does_not_count(client, headers, yamada):
    for params in ({"name": "山田"}, {"name": "山田", "sex": "male"}, {"birth_date": "1980-04-01"}):
        res = client.get("/api/v1/residents", params=params, headers=headers("clerk"))
        assert res.status_code == 422 and error_code(res) == "insufficient_search_criteria"


def test_removed_records_are_found_and_marked(client, headers, yamada):
    file(
        client,
        headers,
        "death",
        {"filed_on": "2025-06-20", "died_on": "2025-06-19", "addressee_number": yamada[1]},
    )
    res = client.get(
        "/api/v1/residents",
        params={"name": "山田 次郎", "birth_date": "2010-05-05"},
        headers=headers("clerk"),
    ).json()["results"]
    assert [(r["addressee_number"], r["status"]) for r in res] == [(yamada[1], "removed")]
    assert res[0]["removal"]["reason"] == "死亡"


def test_resident_code_lookup_stands_alone(client, headers):
    p = f.person()
    body = file(client, headers, "move-in", f.move_in([p]))
    assert search(client, headers, resident_code=p["resident_code"]) == [
        body["changes"][0]["addressee_number"]
    ]
    res = client.get(
        "/api/v1/residents",
        params={"resident_code": p["resident_code"], "name": "山田"},
        headers=headers("clerk"),
    )
    assert res.status_code == 422


def test_search_results_never_carry_a_my_number(client, headers, yamada):
    res = client.get(
        "/api/v1/residents", params={"name": "山田", "address": "小川町"}, headers=headers("clerk")
    )
    assert res.status_code == 200
    assert all("my_number" not in r for r in res.json()["results"])
