import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.errors import InvalidField
from juki.domain.names import (
    MAX_KANA_LENGTH,
    MAX_NAME_LENGTH,
    kana_search_key,
    normalize_kana,
    normalize_name,
    seion_kana,
)

# --- フリガナ ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ヤマダ", "ヤマダ"),
        ("やまだ", "ヤマダ"),  # hiragana
        ("ﾔﾏﾀﾞ", "ヤマダ"),  # half-width, with the voicing mark composed
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("カ゛ッコウ", "ガッコウ"),  # spacing voicing mark composed too
        ("ゔぃおら", "ヴィオラ"),
        ("メアリ-", "メアリー"),  # a typed hyphen is the long-vowel mark
        ("ﾒｱﾘｰ", "メアリー"),
        ("  ジョン　　スミス ", "ジョン スミス"),  # outer spaces stripped, inner run → one U+0020
        ("ジョン・スミス", "ジョン・スミス"),
    ],
)
def test_kana_input_is_normalised_to_full_width_katakana(typed, stored):
    assert normalize_kana(typed, "family_name_kana") == stored


@pytest.mark.parametrize("value", ["山田", "ヤマ田", "Yamada", "ヤマダ1", "<ヤマダ>", "ヤマ\nダ", "ヤマ\tダ"])
def test_kana_field_with_anything_but_katakana_is_refused(value):
    with pytest.raises(InvalidField) as exc:
        normalize_kana(value, "persons.0.family_name_kana")
    assert exc.value.code == "invalid_field"
    assert exc.value.field == "persons.0.family_name_kana"
    assert "カタカナ" in exc.value.message


@pytest.mark.parametrize("value", ["", "   ", "　", None])
def test_empty_kana_is_refused(value):
    with pytest.raises(InvalidField):
        normalize_kana(value, "given_name_kana")


@pytest.mark.parametrize("value", ["ー", "・", "ー ・"])
def test_kana_without_a_single_kana_letter_is_refused(value):
    with pytest.raises(InvalidField):
        normalize_kana(value, "given_name_kana")


def test_kana_at_the_length_limit_is_accepted_and_one_more_is_refused():
    assert normalize_kana("ア" * MAX_KANA_LENGTH, "f") == "ア" * MAX_KANA_LENGTH
    with pytest.raises(InvalidField):
        normalize_kana("ア" * (MAX_KANA_LENGTH + 1), "f")


# --- 氏名 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["𠮷野", "髙橋", "山﨑", "佐々木", "渡邊", "ジョン", "SMITH JOHN", "Mary-Jane O'Neil Jr."]
)
def test_names_in_any_script_survive_unchanged(name):
    assert normalize_name(name, "family_name") == name


def test_non_bmp_and_compatibility_ideographs_are_kept_code_point_for_code_point():
    assert [ord(c) for c in normalize_name("𠮷髙﨑", "f")] == [0x20BB7, 0x9AD9, 0xFA11]


def test_nfc_maps_a_non_unified_compatibility_ideograph_to_its_unified_form():
    # U+F91D is a compatibility ideograph with a canonical mapping to 欄 U+6B04; NFC applies it.
    assert normalize_name("\uf91d", "f") == "\u6b04"


def test_ideographic_variation_sequence_is_kept():
    katsuragi = "葛\U000e0100城"  # 葛 + IVS selector
    assert normalize_name(katsuragi, "f") == katsuragi


def test_name_is_composed_not_compatibility_folded():
    assert normalize_name("Jose\u0301", "f") == "José"  # NFC composes
    assert normalize_name("ｶﾀｶﾅ", "f") == "ｶﾀｶﾅ"  # NFKC would have widened it; NFC does not


def test_spaces_around_a_name_are_stripped_and_inner_runs_become_one_space():
    assert normalize_name("　山田\u3000\u3000太郎 ", "f") == "山田 太郎"


@pytest.mark.parametrize("value", ["", "   ", "　", None, "・", "-"])
def test_empty_name_is_refused(value):
    with pytest.raises(InvalidField):
        normalize_name(value, "family_name")


def test_ten_thousand_character_name_is_refused():
    with pytest.raises(InvalidField) as exc:
        normalize_name("山" * 10_000, "persons.0.family_name")
    assert exc.value.field == "persons.0.family_name"


def test_name_length_is_counted_in_code_points():
    assert normalize_name("𠮷" * MAX_NAME_LENGTH, "f") == "𠮷" * MAX_NAME_LENGTH
    with pytest.raises(InvalidField):
        normalize_name("𠮷" * (MAX_NAME_LENGTH + 1), "f")


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "山田<b>",
        "山田&amp;",
        "山田1",
        "山\n田",
        "山\x00田",
        "山\u202e田",  # right-to-left override
        "山\u200d田",  # zero-width joiner
        "山\ue000",  # private use (vendor 外字)
        "山田;",
        "😀",
    ],
)
def test_name_with_characters_no_name_has_is_refused(value):
    with pytest.raises(InvalidField) as exc:
        normalize_name(value, "given_name")
    assert exc.value.code == "invalid_field"


# --- 清音化 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kana", "key"),
    [
        ("ガッコウ", "カツコオ"),  # voiced, small ッ, ウ after オ段
        ("がっこう", "カツコオ"),
        ("ｶﾞｯｺｳ", "カツコオ"),
        ("パンダ", "ハンタ"),
        ("ヂ", "シ"),  # ヂ = ジ
        ("ジ", "シ"),
        ("ヅ", "ス"),  # ヅ = ズ
        ("ズ", "ス"),
        ("ヴァイオリン", "ハイオリン"),  # ヴァ = バ
        ("ヴィヴェヴォヴ", "ヒヘホフ"),
        ("ワタナベ", "ハタナヘ"),  # ワ = ハ
        ("ヲノ", "オノ"),  # ヲ = オ
        ("ァィゥェォャュョヮヵヶ", "アイウエオヤユヨハカケ"),
        ("メアリー", "メアリ"),  # 長音 ignored
        ("メアリ―", "メアリ"),
        ("メアリ－", "メアリ"),
        ("ジョン スミス", "シヨンスミス"),  # spaces ignored
        ("ジョン・スミス", "シヨンスミス"),
        ("サトウ", "サトオ"),
        ("ユウコ", "ユウコ"),  # ユ is not オ段
        ("ウエダ", "ウエタ"),  # a first ウ stays
        ("オオノ", "オオノ"),
        ("ショウタロウ", "シヨオタロオ"),
    ],
)
def test_seion_kana_follows_the_j330_table(kana, key):
    assert seion_kana(kana) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("サトウ", "サトオ"),
        ("ヂュン", "ジュン"),
        ("ヴァン", "バン"),
        ("キッタ", "キツタ"),
        ("ヤマダ タロウ", "やまだたろう"),
    ],
)
def test_readings_the_spec_treats_as_equal_share_a_key(a, b):
    assert kana_search_key(a) == kana_search_key(b)


@pytest.mark.parametrize(("a", "b"), [("サトウ", "サトミ"), ("カトウ", "サトウ"), ("ユウコ", "ユオコ")])
def test_different_readings_keep_different_keys(a, b):
    assert kana_search_key(a) != kana_search_key(b)


SEION_OUTPUT = set("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロン")
KANA_INPUT = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x30A1, 0x30FB)]  # ァ … ヺ
        + [chr(c) for c in range(0x3041, 0x3097)]  # ぁ … ゖ
        + [chr(c) for c in range(0xFF66, 0xFFA0)]  # half-width ｦ … ﾟ
        + list("ー・ 　-―－‐゛゜")
    ),
    max_size=30,
)


@given(KANA_INPUT)
def test_seion_kana_is_idempotent(kana):
    key = seion_kana(kana)
    assert seion_kana(key) == key


@given(KANA_INPUT)
def test_seion_kana_of_kana_holds_only_large_unvoiced_katakana(kana):
    assert set(seion_kana(kana)) <= SEION_OUTPUT


@given(KANA_INPUT)
def test_seion_kana_never_has_u_after_an_o_row_character(kana):
    key = seion_kana(kana)
    assert not any(prev in "オコソトノホモヨロ" and cur == "ウ" for prev, cur in itertools.pairwise(key))


@given(st.text(max_size=30))
def test_seion_kana_is_idempotent_on_any_text(text):
    key = seion_kana(text)
    assert seion_kana(key) == key


@given(st.text(max_size=40))
def test_normalising_a_stored_name_or_reading_changes_nothing(text):
    for normalize in (normalize_name, normalize_kana):
        try:
            stored = normalize(text, "f")
        except InvalidField:
            continue
        assert normalize(stored, "f") == stored
