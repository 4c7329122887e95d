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


def results(client, headers, **params) -> list[dict]:
    res = client.get("/api/v1/residents", params=params, headers=headers("clerk"))
    assert res.status_code == 200, res.text
    return res.json()["results"]


def refused(client, headers, **params) -> tuple[int, str, str | None]:
    res = client.get("/api/v1/residents", params=params, headers=headers("clerk"))
    error = res.json()["errors"][0]
    return res.status_code, error["code"], error.get("field")


# --- j330: 完全一致・前方一致・部分一致, and the name typed as one word ----------------------------------------


def test_by_default_a_name_matches_exactly_and_a_result_matched_today(client, headers, yamada):
    assert search(client, headers, name="ヤマ", birth_date="1980-04-01") == []
    found = results(client, headers, name="ヤマダ タロウ", birth_date="1980-04-01")
    assert [(r["matched_on"], r["matched_history"]) for r in found] == [("current", [])]


def test_prefix_matching_finds_a_name_by_its_start_in_kana_or_kanji(client, headers, yamada):
    assert search(client, headers, name="ヤマ", birth_date="1980-04-01", name_match="prefix") == [yamada[0]]
    assert search(client, headers, name="やま た", birth_date="1980-04-01", name_match="prefix") == [
        yamada[0]
    ]
    assert search(client, headers, name="山", address="小川町1丁目", name_match="prefix") == yamada
    assert search(client, headers, name="山田次", birth_date="2010-05-05", name_match="prefix") == [yamada[1]]
    assert search(client, headers, name="シロ", birth_date="2010-05-05", name_match="prefix") == [yamada[1]]
    assert search(client, headers, name="マダ", birth_date="1980-04-01", name_match="prefix") == []


def test_partial_matching_finds_a_name_by_any_part_even_across_family_and_given(client, headers, yamada):
    assert search(client, headers, name="マダ", birth_date="1980-04-01", name_match="partial") == [yamada[0]]
    assert search(client, headers, name="ダタ", birth_date="1980-04-01", name_match="partial") == [yamada[0]]
    assert search(client, headers, name="田太", birth_date="1980-04-01", name_match="partial") == [yamada[0]]
    assert search(client, headers, name="ロウ", address="小川町", name_match="partial") == yamada
    assert search(client, headers, name="ハナ", address="小川町", name_match="partial") == []


def test_a_leading_u_after_an_o_row_letter_is_found_as_the_stored_key_has_it(client, headers):
    people = [
        f.person(given_name="浩一", given_name_kana="コウイチ", birth_date="1970-01-01"),
        f.person(
            "妻",
            family_name="伊藤",
            family_name_kana="イトウ",
            given_name="梅",
            given_name_kana="ウメ",
            sex="female",
            birth_date="1972-02-02",
        ),
    ]
    koichi, ume = [
        c["addressee_number"] for c in file(client, headers, "move-in", f.move_in(people))["changes"]
    ]
    assert search(client, headers, name="ウイチ", birth_date="1970-01-01", name_match="partial") == [koichi]
    assert search(client, headers, name="いとううめ", birth_date="1972-02-02") == [ume]  # the space ignored
    assert search(client, headers, name="トウウ", birth_date="1972-02-02", name_match="partial") == [ume]
    assert search(client, headers, name="イトウウ", birth_date="1972-02-02", name_match="prefix") == [ume]


def test_matching_a_part_still_needs_a_second_criterion(client, headers, yamada):
    for mode in ("prefix", "partial"):
        assert refused(client, headers, name="ヤ", name_match=mode)[:2] == (
            422,
            "insufficient_search_criteria",
        )
        assert refused(client, headers, name="ヤ", sex="male", name_match=mode)[0] == 422


def test_an_unknown_match_or_a_name_of_marks_only_is_refused(client, headers, yamada):
    assert refused(client, headers, name="ヤマ", birth_date="1980-04-01", name_match="fuzzy") == (
        422,
        "invalid_field",
        "name_match",
    )
    for marks in ("ー", "・", "ーー"):
        status, code, _ = refused(client, headers, name=marks, birth_date="1980-04-01", name_match="prefix")
        assert (status, code) == (422, "invalid_field")


def test_wildcards_in_a_name_are_plain_characters(client, headers, yamada):
    for text in ("%", "_", "山%", "*", "/"):
        for mode in ("exact", "prefix", "partial"):
            assert search(client, headers, name=text, address="小川町", name_match=mode) == []


# --- j340: search keys that name one person or household -----------------------------------------------------


def test_addressee_household_and_residence_card_numbers_stand_alone(client, headers, yamada):
    foreigner = f.person(
        family_name="スミス",
        given_name="ジョン",
        family_name_kana="スミス",
        given_name_kana="ジョン",
        foreign={
            "nationality": "アメリカ合衆国",
            "article_30_45_category": "中長期在留者",
            "status_of_residence": "技術・人文知識・国際業務",
            "stay_expires_on": "2027-03-31",
            "residence_card_number": "AB12345678CD",
        },
    )
    body = file(client, headers, "move-in", f.move_in([foreigner]))
    smith = body["changes"][0]["addressee_number"]
    assert search(client, headers, residence_card_number="ab12345678cd") == [smith]
    assert search(client, headers, addressee_number=yamada[1]) == [yamada[1]]
    assert search(client, headers, household_number=body["household_number"]) == [smith]
    household = client.get(f"/api/v1/residents/{yamada[0]}", headers=headers("clerk")).json()[
        "household_number"
    ]
    assert sorted(search(client, headers, household_number=household)) == sorted(yamada)
    assert refused(client, headers, addressee_number=yamada[0], name="山田")[:2] == (422, "invalid_field")
    assert refused(client, headers, addressee_number=yamada[0], history="true")[0] == 422
    assert refused(client, headers, residence_card_number="AB1234")[2] == "residence_card_number"


# --- j340: earlier names and addresses (history=true) --------------------------------------------------------


@pytest.fixture
def hanako(client, headers) -> str:
    """鈴木 花子 moved in at 小川町一丁目 on 2025-06-01, became 佐藤 on 2025-06-10 (a correction after her marriage),
    and moved to 花小金井南町 on 2025-06-15: three versions."""
    body = file(
        client,
        headers,
        "move-in",
        f.move_in(
            [
                f.person(
                    family_name="鈴木",
                    family_name_kana="スズキ",
                    given_name="花子",
                    given_name_kana="ハナコ",
                    sex="female",
                    birth_date="1990-02-02",
                )
            ]
        ),
    )
    number = body["changes"][0]["addressee_number"]
    correction = {
        "filed_on": "2025-06-20",
        "changed_on": "2025-06-10",
        "reason": "婚姻による氏の変更（戸籍届出の通知）",
        "addressee_number": number,
        "corrections": {"family_name": "佐藤", "family_name_kana": "サトウ"},
    }
    pending = file(client, headers, "ex-officio-correction", correction, status=202)
    approved = client.post(f"/api/v1/approvals/{pending['filing_id']}/approve", headers=headers("supervisor"))
    assert approved.status_code == 201, approved.text
    file(
        client,
        headers,
        "move-within",
        {
            "filed_on": "2025-06-20",
            "changed_on": "2025-06-15",
            "household_number": body["household_number"],
            "addressee_numbers": [number],
            "address": {"address": "東京都小平市花小金井南町三丁目5番12号"},
        },
    )
    return number


def test_a_maiden_name_is_found_only_when_history_is_asked_for(client, headers, hanako):
    assert search(client, headers, name="スズキ ハナコ", birth_date="1990-02-02") == []
    found = results(client, headers, name="スズキ ハナコ", birth_date="1990-02-02", history="true")
    assert [(r["addressee_number"], r["family_name"], r["matched_on"]) for r in found] == [
        (hanako, "佐藤", "history")
    ]
    assert found[0]["matched_history"] == [
        {
            "field": "name",
            "value": "鈴木 花子",
            "version": 1,
            "changed_on": "2025-06-01",
            "until": "2025-06-10",
        }
    ]


def test_an_earlier_address_is_found_with_the_name_of_today_or_of_then(client, headers, hanako):
    assert search(client, headers, name="佐藤", address="小川町一丁目") == []
    found = results(client, headers, name="佐藤", address="小川町一丁目", history="true")
    assert [r["addressee_number"] for r in found] == [hanako]
    assert found[0]["matched_history"] == [
        {
            "field": "address",
            "value": "東京都小平市小川町一丁目100番地5",
            "version": 2,
            "changed_on": "2025-06-10",
            "until": "2025-06-15",
        }
    ]
    assert search(client, headers, name="スズキ", address="小川町1丁目", history="true") == [hanako]
    # each criterion on its own: the maiden name with today's address
    both = results(client, headers, name="鈴木", address="花小金井南町", history="true")
    assert [(r["addressee_number"], [h["field"] for h in r["matched_history"]]) for r in both] == [
        (hanako, ["name"])
    ]


def test_today_s_matches_come_before_those_found_in_history(client, headers, hanako):
    other = f.person(
        family_name="鈴木",
        family_name_kana="スズキ",
        given_name="花子",
        given_name_kana="ハナコ",
        sex="female",
        birth_date="1990-02-02",
    )
    now = file(client, headers, "move-in", f.move_in([other]))["changes"][0]["addressee_number"]
    found = results(client, headers, name="すずき はなこ", birth_date="1990-02-02", history="true")
    assert [(r["addressee_number"], r["matched_on"]) for r in found] == [
        (now, "current"),
        (hanako, "history"),
    ]


def test_a_history_search_still_needs_two_criteria(client, headers, hanako):
    for params in ({"address": "小川町一丁目"}, {"name": "スズキ"}, {"address": "小川町", "sex": "female"}):
        assert refused(client, headers, history="true", **params)[:2] == (422, "insufficient_search_criteria")
    assert refused(client, headers, name="スズキ", birth_date="1990-02-02", history="maybe")[:2] == (
        422,
        "invalid_field",
    )


def test_a_history_search_is_logged_and_hides_a_protected_person(client, headers, j, hanako):
    def logged() -> list:
        with j.uow() as uow:
            return [e for e in uow.queries.operation_log() if e.action == "resident:search"]

    before = len(logged())
    assert search(client, headers, name="スズキ", address="小川町", history="true") == [hanako]
    entry = logged()[-1]
    assert len(logged()) == before + 1 and hanako in entry.targets and "from_history=1" in entry.detail
    measure = {
        "subject_kind": "person",
        "subject": hanako,
        "reason": "DV被害による支援措置申出",
        "requester": "本人",
        "received_on": "2025-06-20",
        "starts_on": "2025-06-20",
    }
    res = client.post(
        "/api/v1/protection-measures",
        json=measure,
        headers={**headers("supervisor"), "X-Juki-Procedure": "protection"},
    )
    assert res.status_code == 201, res.text
    assert search(client, headers, name="スズキ", address="小川町", history="true") == []
    assert search(client, headers, name="スズキ", birth_date="1990-02-02", history="true") == []
    assert hanako not in logged()[-1].targets


# --- foreign residents' names as people write them (j340: 氏名 in alphabet and kanji, 通称, 併記名) ---------------


BORN = {
    "vietnamese": "1990-01-15",
    "pham": "1992-02-20",
    "filipino": "1988-03-25",
    "nepali": "1995-04-30",
    "korean": "1985-05-05",
    "chinese": "1980-06-06",
}


@pytest.fixture
def foreigners(client, headers) -> dict[str, str]:
    """Names as the 在留カード writes them: parts that hold spaces, a two-word family name, a 併記名, a 通称."""
    people = {
        "vietnamese": f.foreign_person("NGUYEN", "VAN AN", "グエン", "ヴァン アン", card="AB12345671CD"),
        "pham": f.foreign_person("PHAM", "DUC MINH", "ファム", "ドゥック ミン", card="AB12345672CD"),
        "filipino": f.foreign_person(
            "DELA CRUZ",
            "MARIA CLARA",
            "デラ クルス",
            "マリア クララ",
            nationality="フィリピン",
            card="AB12345673CD",
        ),
        "nepali": f.foreign_person(
            "GURUNG", "SITA", "グルン", "シタ", nationality="ネパール", card="AB12345674CD"
        ),
        "korean": f.foreign_person(
            "KIM",
            "MINJUN",
            "キム",
            "ミンジュン",
            nationality="韓国",
            card="AB12345675CD",
            foreign={"parallel_name": "金 民俊"},
        ),
        "chinese": f.foreign_person(
            "王",
            "小明",
            "ワン",
            "シャオミン",
            nationality="中国",
            card="AB12345676CD",
            foreign={"alias_name": "王川 明", "alias_name_kana": "オウカワ アキラ"},
        ),
    }
    for key, person in people.items():
        person["birth_date"] = BORN[key]
    numbers = {}
    for key, person in people.items():
        body = file(client, headers, "move-in", f.move_in([person]))
        numbers[key] = body["changes"][0]["addressee_number"]
    return numbers


@pytest.mark.parametrize(
    ("who", "typed"),
    [
        ("pham", "PHAM DUC MINH"),  # the name as on the card: 氏 PHAM, 名 DUC MINH
        ("pham", "Pham Duc Minh"),
        ("pham", "pham  duc　minh"),  # any number of spaces, half- or full-width
        ("pham", "ＰＨＡＭ　ＤＵＣ　ＭＩＮＨ"),  # full-width letters
        ("vietnamese", "NGUYEN VAN AN"),
        ("vietnamese", " nguyen van an "),
        ("filipino", "DELA CRUZ MARIA CLARA"),  # a two-word family name: the split after CRUZ matches
        ("filipino", "dela cruz maria clara"),
        ("nepali", "GURUNG"),  # one word: the family name
        ("nepali", "gurung sita"),
        ("korean", "KIM MINJUN"),
        ("korean", "金 民俊"),  # the 併記名
        ("korean", "金民俊"),
        ("korean", "金　民俊"),
        ("chinese", "王 小明"),  # the kanji name
        ("chinese", "王小明"),
        ("chinese", "王川 明"),  # the 通称
        ("chinese", "王川明"),
        ("pham", "ファム ドゥック ミン"),  # the reading, split the same way
        ("vietnamese", "ぐえん ばん あん"),  # hiragana, ヴァ = バ (j330)
        ("filipino", "デラ クルス マリア クララ"),
    ],
)
def test_a_foreign_residents_name_is_found_as_people_write_it(client, headers, foreigners, who, typed):
    assert search(client, headers, name=typed, birth_date=BORN[who]) == [foreigners[who]]


@pytest.mark.parametrize(
    ("who", "typed"),
    [
        ("filipino", "CRUZ MARIA CLARA"),  # not the family name
        ("filipino", "DELA CRUZ MARIA"),  # the given name is MARIA CLARA: exact by default
        ("pham", "PHAM DUC"),
        ("chinese", "王川 小明"),  # 通称 and name are not mixed
        ("korean", "金 MINJUN"),
    ],
)
def test_a_part_of_a_foreign_name_is_not_the_name(client, headers, foreigners, who, typed):
    assert search(client, headers, name=typed, birth_date=BORN[who]) == []


def test_the_start_of_a_foreign_name_is_found_with_prefix_matching(client, headers, foreigners):
    found = search(client, headers, name="DELA CRUZ MARIA", birth_date=BORN["filipino"], name_match="prefix")
    assert found == [foreigners["filipino"]]
    found = search(client, headers, name="pham duc", birth_date=BORN["pham"], name_match="prefix")
    assert found == [foreigners["pham"]]
    found = search(client, headers, name="民俊", birth_date=BORN["korean"], name_match="partial")
    assert found == [foreigners["korean"]]


def test_a_foreign_name_and_an_address_find_the_person(client, headers, foreigners):
    assert foreigners["pham"] in search(client, headers, name="PHAM DUC MINH", address="小川町一丁目")


def test_a_name_in_more_parts_than_any_real_one_is_refused(client, headers, foreigners):
    res = client.get(
        "/api/v1/residents",
        params={"name": "A B C D E F G H I", "birth_date": "1990-01-15"},
        headers=headers("clerk"),
    )
    assert res.status_code == 422 and error_code(res) == "invalid_field"
    assert res.json()["errors"][0]["field"] == "name"
