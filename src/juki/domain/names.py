"""Names and their katakana readings (フリガナ), and the 清音化 key used to match readings.

Stored forms (decided here, relied on by callers):
- a name (`normalize_name`) is NFC — never NFKC, which would fold 異体字 and compatibility forms —
  with outer spaces stripped and each inner run of spaces (ASCII, U+3000 …) made one U+0020;
- a reading (`normalize_kana`) is full-width katakana with inner spaces made one U+0020
  (foreign names: 「ジョン スミス」); family and given readings stay separate fields.
They are at most `MAX_NAME_LENGTH` and `MAX_KANA_LENGTH` code points long.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import jaconv

from .errors import InvalidField

MAX_NAME_LENGTH = 100  # code points, after normalisation
MAX_KANA_LENGTH = 100

# Dash-like characters people type for the long-vowel mark (ー): hyphen-minus, hyphen, non-breaking
# hyphen, figure dash, en/em dash, horizontal bar, minus sign, wave dash and full-width tilde.
_DASHES = re.escape("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u301c\uff5e")  # for a [] class
# Every Unicode space separator (Zs): ASCII, no-break, U+2000–U+200A, ideographic (U+3000) …
_SPACES = " \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACE_RUN = re.compile(f"[{_SPACES}]+")

# --- フリガナ ------------------------------------------------------------------------------------------

_KATAKANA_LETTER = "\u30a1-\u30fa"  # ァ … ヺ
_KANA_ALLOWED = re.compile(rf"[{_KATAKANA_LETTER}ー・ ]+")
_KANA_LETTER = re.compile(rf"[{_KATAKANA_LETTER}]")


def _kana_nfkc(s: str) -> str:
    """NFKC plus the spacing voicing marks (゛゜), which NFKC turns into a space + combining mark.

    Turning them into the combining marks first lets NFC compose カ゛ into ガ like ｶﾞ.
    NFKC also makes half-width katakana full-width and U+3000 an ASCII space.
    """
    s = s.replace("\u309b", "\u3099").replace("\u309c", "\u309a")
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", s))


def normalize_kana(s: str, field: str) -> str:
    """A reading as typed → stored katakana, or InvalidField.

    Half-width katakana and hiragana become full-width katakana; dash-like characters become ー;
    outer spaces are stripped and inner runs become one U+0020. What remains must be katakana
    (ァ–ヺ), ー, ・ or spaces, with at least one kana letter, at most MAX_KANA_LENGTH long.
    """
    if not isinstance(s, str):
        raise InvalidField("フリガナを入力してください", field=field)
    text = jaconv.hira2kata(_kana_nfkc(s))
    text = re.sub(f"[{_DASHES}]", "ー", text)
    text = _SPACE_RUN.sub(" ", text).strip(" ")
    if not text:
        raise InvalidField("フリガナを入力してください", field=field)
    if len(text) > MAX_KANA_LENGTH:
        raise InvalidField(f"フリガナは{MAX_KANA_LENGTH}文字以内で入力してください", field=field)
    if not _KANA_ALLOWED.fullmatch(text) or not _KANA_LETTER.search(text):
        raise InvalidField("フリガナはカタカナで入力してください", field=field)
    return text


# --- 氏名 --------------------------------------------------------------------------------------------

# Besides letters (L*) and marks (M*, which include the ideographic variation selectors of IVS such
# as 葛󠄀), a name may hold: spaces between parts, ・ (katakana names of foreigners), and the hyphen,
# apostrophe and period of alphabet names (Mary-Jane O'Neil Jr.). 々 and ー are letters (Lm) already.
_NAME_PUNCTUATION = frozenset(" ・-\u2010'\u2019.")


def _is_name_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LM" or c in _NAME_PUNCTUATION


def normalize_name(s: str, field: str) -> str:
    """A name (氏, 名, 通称, 旧氏 …) in any script → stored form, or InvalidField.

    NFC keeps 髙, 𠮷 and 﨑 (U+FA11 is one of the twelve unified ideographs in the compatibility block,
    so it has no decomposition). NFC does map the other compatibility ideographs (U+F900–U+FAFF) to
    their unified form — e.g. U+F91D → 欄 U+6B04 — so a variant glyph must come as base + IVS selector.
    Refused: control and format characters (bidi overrides, zero-width joiners), private-use code
    points (vendor 外字 have no meaning outside the system that made them), digits, symbols such
    as < > & ; and anything over MAX_NAME_LENGTH code points.
    """
    if not isinstance(s, str):
        raise InvalidField("氏名を入力してください", field=field)
    text = _SPACE_RUN.sub(" ", unicodedata.normalize("NFC", s).strip()).strip(" ")
    if not text:
        raise InvalidField("氏名を入力してください", field=field)
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidField(f"氏名は{MAX_NAME_LENGTH}文字以内で入力してください", field=field)
    if not all(_is_name_char(c) for c in text) or not any(unicodedata.category(c)[0] == "L" for c in text):
        raise InvalidField("氏名に使えない文字が含まれています", field=field)
    return text


# --- search keys of names (j340) ----------------------------------------------------------------------------

# Ideographic variation selectors (IVS) and the standard ones: 葛󠄀 and 葛 are one name to a search.
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def name_search_key(s: str) -> str:
    """The key under which two spellings of a name (氏, 名, 通称, 併記名) match (標準仕様書 j340).

    NFKC (full-width Latin letters and digits → ASCII, half-width katakana → full-width, U+3000 → a space), then
    casefold (Latin letters without regard to case: PHAM = Pham = ｐｈａｍ), variation selectors dropped, and
    each run of spaces made one U+0020. 異体字 stay apart (髙 ≠ 高): the register keeps them as different names.
    """
    text = _VARIATION_SELECTORS.sub("", unicodedata.normalize("NFKC", s).casefold())
    return _SPACE_RUN.sub(" ", text).strip(" ")


def joined_name_key(s: str | None) -> str | None:
    """The search key of a name kept as one string (通称, 併記名) with its spaces taken out: 「王川 明」 and
    「王川明」 are the same 通称 to a search, whichever way it was written or is typed."""
    if not s:
        return None
    return name_search_key(s).replace(" ", "") or None


# --- 清音化 (seion_kana) -------------------------------------------------------------------------------

_VU_SYLLABLES = (
    ("ヴァ", "バ"),
    ("ヴィ", "ビ"),
    ("ヴュ", "ビュ"),
    ("ヴェ", "ベ"),
    ("ヴォ", "ボ"),
    ("ヴ", "ブ"),
    ("ヷ", "バ"),
    ("ヸ", "ビ"),
    ("ヹ", "ベ"),
    ("ヺ", "ボ"),
)
_DJ_DZ = str.maketrans("ヂヅ", "ジズ")  # j330: ヂ=ジ, ヅ=ズ, so both devoice to シ, ス
_SMALL_TO_LARGE = str.maketrans(
    {
        **dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True)),
        # Katakana phonetic extensions (small ク … ロ, used for Ainu).
        **dict(zip("ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ", "クシストヌハヒフヘホムラリルレロ", strict=True)),
    }
)
# j330: オ=ヲ, ワ=ハ. ヰ=イ and ヱ=エ are ours, by the same reasoning (old kana read alike). A second
# table, applied after enlarging, so that ヮ → ワ → ハ (translate does not chain within one table).
_OLD_KANA = str.maketrans({"ヲ": "オ", "ワ": "ハ", "ヰ": "イ", "ヱ": "エ"})
_SEION_DROP = re.compile(rf"[\sー・{_DASHES}]")
O_ROW = frozenset("オコソトノホモヨロ")  # オ段 after devoicing, enlarging and ヲ→オ (the key's letters)


def _devoice(s: str) -> str:
    """ガ→カ, パ→ハ …: decompose and drop the (semi-)voicing combining marks."""
    decomposed = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", decomposed.replace("\u3099", "").replace("\u309a", ""))


def _u_after_o_row(s: str, *, after_o_row: bool = False, restart: int | None = None) -> str:
    """ウ right after an オ段 character becomes オ (so コウ matches コオ), from the 2nd character on.

    `after_o_row`: `s` continues a reading whose previous character is of the オ段 (a search for a part of
    a reading); `restart`: the position where a second reading starts (氏 and 名 typed without a space: the
    stored keys are made per reading, so the rule starts again there).
    """
    out: list[str] = []
    previous = "オ" if after_o_row else ""
    for i, c in enumerate(s):
        if i == restart:
            previous = ""
        if c == "ウ" and previous in O_ROW:
            c = "オ"
        out.append(c)
        previous = c
    return "".join(out)


def _seion_base(s: str) -> str:
    """Steps 1–6 of `seion_kana`: everything but the ウ-after-オ段 rule."""
    text = jaconv.hira2kata(_kana_nfkc(s))
    for vu, ba in _VU_SYLLABLES:
        text = text.replace(vu, ba)
    text = _devoice(text.translate(_DJ_DZ)).translate(_SMALL_TO_LARGE).translate(_OLD_KANA)
    # NFC again: dropping a space can put a combining mark next to a letter (NFKC turns ¨ into
    # space + U+0308), and the key must not change on a second pass.
    return unicodedata.normalize("NFC", _SEION_DROP.sub("", text))


@functools.lru_cache(maxsize=65536)  # a city has far fewer distinct readings than residents
def seion_kana(s: str) -> str:
    """清音化かな: the key under which two readings match (住民記録システム標準仕様書 j330).

    Applied in this order:

    1. NFKC (゛゜ composed), hiragana → katakana     ｶﾞｯｺｳ, がっこう → ガッコウ
    2. ヴ syllables → バ行 (j330: ヴァ=バ)            ヴァ ヴィ ヴュ ヴ ヴェ ヴォ → バ ビ ビュ ブ ベ ボ,
                                                      ヷ ヸ ヹ ヺ → バ ビ ベ ボ
    3. ヂ → ジ, ヅ → ズ (j330), then all voiced and     ガ → カ, パ → ハ, ジ and ヂ → シ, ズ and ヅ → ス
       semi-voiced kana → unvoiced
    4. small kana enlarged                           ァ → ア, ッ → ツ, ャ → ヤ, ヮ → ワ, ヵ → カ, ヶ → ケ
    5. old and particle kana                         ヲ → オ, ワ → ハ (j330); ヰ → イ, ヱ → エ (ours)
    6. long-vowel and dash marks, ・ and all          ジョン・スミスー → シヨンスミス
       whitespace removed
    7. ウ after an オ段 character → オ                 コウ → コオ; ユウ stays

    Whitespace goes before step 7 (the spec removes it last) so that the key is idempotent:
    「オ ウ」 would otherwise become オウ on one pass and オオ on the next. Characters that are not
    kana pass through unchanged.
    """
    return _u_after_o_row(_seion_base(s))


def kana_search_key(s: str) -> str:
    """The key stored beside a reading and compared on search; the same as `seion_kana`."""
    return seion_kana(s)


def kana_search_keys(s: str, *, joined: bool = False, after_o_row: bool = False) -> tuple[str, ...]:
    """The keys a stored reading (or the joined 氏 + 名 keys) may hold where it matches `s`; the first is
    `seion_kana(s)` unless `after_o_row`.

    - `joined`: `s` is 氏 and 名 typed as one word (j330: the space between them is ignored). Keys are
      stored per reading and the ウ-after-オ段 rule starts again at the given name: イトウ + ウメ is stored as
      イトオ + ウメ, while イトウウメ as one word keys to イトオオメ. Each place where 名 may start with ウ
      gives one more key (イトオウメ).
    - `after_o_row`: `s` is a part of a reading after an オ段 character (部分一致: ウイチ is found in コウイチ,
      stored as コオイチ, as オイチ after コ).
    """
    base = _seion_base(s)
    restarts: list[int | None] = [None]
    if joined:
        restarts += [i for i in range(1, len(base)) if base[i] == "ウ"]
    keys = (_u_after_o_row(base, after_o_row=after_o_row, restart=i) for i in restarts)
    return tuple(dict.fromkeys(keys))
