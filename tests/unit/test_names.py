import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from juki.domain.errors import InvalidField
from juki.domain.names import (
    MAX_KANA_LENGTH,
    MAX_NAME_LENGTH,
    O_ROW,
    joined_name_key,
    kana_search_key,
    kana_search_keys,
    name_search_key,
    normalize_kana,
    normalize_name,
    seion_kana,
)
from juki.policy.search import name_term

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


# --- j330, rule by rule (住民記録システム標準仕様書 2.1.2 検索文字入力: each example of the text) ----------------

J330_EQUAL = {
    # 清音、濁音、半濁音による違いを無視: the spec's own examples
    "ヂ=ジ": ("ヂ", "ジ"),
    "ズ=ヅ": ("ズ", "ヅ"),
    "ワ=ハ": ("ワ", "ハ"),
    "ヴァ=バ": ("ヴァ", "バ"),
    "ヴィ=ビ": ("ヴィ", "ビ"),
    "ヴ=ブ": ("ヴ", "ブ"),
    "オ=ヲ": ("オ", "ヲ"),
    "ヒ=ピ": ("ヒ", "ピ"),
    "ヒ=ビ": ("ヒ", "ビ"),
    "ガ=カ": ("ガッコウ", "カッコウ"),
    # 拗音、促音の小文字と大文字による違いを無視
    "ッ=ツ": ("キッタ", "キツタ"),
    "ャ=ヤ": ("キャ", "キヤ"),
    "ュ=ユ": ("キュ", "キユ"),
    "ョ=ヨ": ("キョ", "キヨ"),
    # ２文字目以降の「ウ」は、直前がオ段なら「オ」
    "コウ=コオ": ("コウタ", "コオタ"),
    "ゴウ=コオ (オ段 after 清音化)": ("ゴウ", "コオ"),
    "ショウ=ショオ (ョ is オ段)": ("ショウ", "ショオ"),
    "ヲウ=オオ": ("ヲウ", "オオ"),
    # 長音の有無を無視
    "長音の有無": ("メアリー", "メアリ"),
    "長音の有無 (語中)": ("コーイチ", "コイチ"),
    # ー ― － ‐ ｰ - are one input
    "ー=―": ("メアリー", "メアリ―"),
    "ー=－": ("メアリー", "メアリ－"),
    "ー=‐": ("メアリー", "メアリ‐"),
    "ー=ｰ": ("メアリー", "メアリｰ"),
    "ー=-": ("メアリー", "メアリ-"),
    # 全角スペース=半角スペース, and 氏と名の間のスペースを無視
    "全角=半角スペース": ("ジョン　スミス", "ジョン スミス"),
    "スペース無視": ("ヤマダ タロウ", "ヤマダタロウ"),
    # カタカナで入力及び検索 (hiragana and half-width typed are the same)
    "ひらがな": ("やまだ", "ヤマダ"),
    "半角カナ": ("ﾔﾏﾀﾞ", "ヤマダ"),
}


@pytest.mark.parametrize(("a", "b"), list(J330_EQUAL.values()), ids=list(J330_EQUAL))
def test_j330_readings_the_standard_treats_as_equal_share_a_key(a, b):
    assert seion_kana(a) == seion_kana(b)


J330_DIFFERENT = {
    "a first ウ stays (from the 2nd character on)": ("ウエダ", "オエダ"),
    "ウ after a letter not of the オ段": ("ユウコ", "ユオコ"),
    "ウ after ア段": ("カウ", "カオ"),
    "different letters": ("サトウ", "サイトウ"),
    "カ段 and サ段": ("カトウ", "サトウ"),
}


@pytest.mark.parametrize(("a", "b"), list(J330_DIFFERENT.values()), ids=list(J330_DIFFERENT))
def test_j330_readings_the_standard_keeps_apart_keep_different_keys(a, b):
    assert seion_kana(a) != seion_kana(b)


def test_a_name_typed_as_one_word_matches_the_keys_stored_per_reading():
    # イトウ + ウメ are stored as イトオ + ウメ: the rule starts again at the given name
    assert seion_kana("イトウ") + seion_kana("ウメ") == "イトオウメ"
    assert seion_kana("イトウウメ") == "イトオオメ"
    # one key per place 名 may start with ウ: イト + ウウメ, イトウ + ウメ
    assert kana_search_keys("イトウウメ", joined=True) == ("イトオオメ", "イトウウメ", "イトオウメ")
    assert kana_search_keys("イトウウメ") == ("イトオオメ",)


def test_a_part_of_a_reading_after_an_o_row_letter_keys_its_leading_u_as_o():
    assert kana_search_keys("ウイチ") == ("ウイチ",)
    assert kana_search_keys("ウイチ", after_o_row=True) == ("オイチ",)
    assert kana_search_keys("ウウ", after_o_row=True) == ("オオ",)
    assert "コオイチ" in name_term("ウイチ").parts and "ウイチ" in name_term("ウイチ").parts
    assert name_term("イチ").parts == ("イチ",)  # nothing more to try without a leading ウ


# Readings whose key is made letter by letter (no ヴ + small vowel, no separate voicing marks across a
# boundary): a part of such a reading keys as the same part of the reading's key, but for the ウ rule.
LETTERS = st.text(
    alphabet=st.sampled_from(
        list("アイウエオカキクケコサシスセソタチツテトナヌハヒホマモヤヨラロワヲンガゴゾドボポッャョー")
    ),
    min_size=1,
    max_size=8,
)


@given(LETTERS, LETTERS)
def test_family_and_given_typed_as_one_word_find_their_stored_keys(family, given_name):
    joined = seion_kana(family) + seion_kana(given_name)
    if joined:
        assert joined in name_term(family + given_name).joined_keys


@given(LETTERS, LETTERS)
def test_the_start_of_a_reading_finds_its_key_by_prefix(head, rest):
    key = seion_kana(head)
    if key:
        assert seion_kana(head + rest).startswith(key)
        assert key in name_term(head).keys


# The cases the ウ-after-オ段 rule makes hard come often: a part that starts with ウ after an オ段 letter, and
# 名 starting with ウ after 氏 ending in one.
O_END = st.sampled_from(["", "コ", "ゴ", "ト", "ョ", "ヲ", "オ", "ウ"])
U_START = st.sampled_from(["", "ウ", "ウウ", "ゥ"])


@given(LETTERS | st.just(""), O_END, U_START, LETTERS, LETTERS | st.just(""))
def test_any_part_of_a_reading_is_found_in_its_key(before, o_end, u_start, rest, after):
    part = u_start + rest
    if not seion_kana(part):  # marks only: refused as a name (not a part of any reading)
        return
    key = seion_kana(before + o_end + part + after)
    assert any(p in key for p in name_term(part).parts), (key, name_term(part).parts)


@given(
    LETTERS,
    O_END,
    U_START,
    LETTERS,
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=1, max_value=20),
)
def test_any_part_of_family_and_given_joined_is_found_in_the_stored_keys(
    family, o_end, u_start, given_name, start, length
):
    family, given_name = family + o_end, u_start + given_name
    part = (family + given_name)[start : start + length]
    if not seion_kana(part):
        return
    stored = seion_kana(family) + seion_kana(given_name)
    assert any(p in stored for p in name_term(part).joined_parts), (stored, part)


@given(LETTERS, O_END, U_START, LETTERS)
def test_family_and_given_typed_as_one_word_find_their_stored_keys_after_an_o_row_end(
    family, o_end, u_start, given_name
):
    family, given_name = family + o_end, u_start + given_name
    if not seion_kana(family + given_name):  # marks only (ーー): refused as a name, as above
        return
    assert seion_kana(family) + seion_kana(given_name) in name_term(family + given_name).joined_keys


def test_o_row_holds_the_key_letters_of_the_o_column():
    assert {seion_kana(c) for c in "オコゴソゾトドノホボポモヨョロヲ"} == set(O_ROW)


# --- search keys of names (j340) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("PHAM", "pham"),
        ("Pham", "pham"),
        ("ＰＨＡＭ", "pham"),  # full-width letters
        ("DUC  MINH", "duc minh"),  # runs of spaces are one
        ("DUC\u3000MINH", "duc minh"),
        (" DELA CRUZ ", "dela cruz"),
        ("ﾌｧﾑ", "ファム"),  # half-width katakana
        ("葛\U000e0100飾", "葛飾"),  # an IVS selector does not count
        ("髙橋", "髙橋"),  # 異体字 stay apart
        ("O'NEIL", "o'neil"),
    ],
)
def test_a_names_search_key_ignores_case_width_and_spacing(typed, key):
    assert name_search_key(typed) == key


def test_a_name_kept_as_one_string_is_keyed_without_its_spaces():
    assert joined_name_key("王川 明") == joined_name_key("王川明") == joined_name_key("王川　明") == "王川明"
    assert joined_name_key("KIM MINJUN") == "kimminjun"
    assert joined_name_key(None) is None and joined_name_key("") is None and joined_name_key("  ") is None
