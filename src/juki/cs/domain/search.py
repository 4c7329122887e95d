"""Searching the 本人確認情報: which conditions a search may have, and which persons they select (pure rules).

The rule (seed III(2)-3 リスク2, 「正当な利用目的以外の目的にデータベースが構成されることを防止するため」): a
search names at least two items besides 性別, and the seed names the two combinations it allows — 氏名と住所,
氏名と生年月日. So a search is either

- by 住民票コード alone (from the card or a form, seed II(2)⑤: it names one person and nothing may widen it), or
- by 氏名 and at least one of 住所 and 生年月日; 性別 may narrow it but never counts.

Fewer than two counted items is `search_needs_two_items`; 住所 and 生年月日 without 氏名 is `search_needs_name`.
The same rule holds for the CS's own file and for a query of the national server (the simulator applies it too).

How the items match (the values as the CS holds them: docs/cs.md, the 36 items):
- 氏名 typed in kana (hiragana, katakana, half-width) matches the 清音化かな氏名 (item 5) under 標準仕様書 j330's key
  (`juki.domain.names`: ガ=カ, ッ=ツ, コウ=コオ …); otherwise the 漢字氏名 (item 2) as stored (NFKC-folded for Latin
  letters and width, case ignored). Spaces do not count: 「山田 太郎」 = 「山田太郎」 = the whole name. One word also
  matches the family name alone or the given name alone.
- 住所 matches from the start of item 11, or from just after its 都道府県, or just after its 都道府県 and 市区町村
  (「小川町一丁目」 finds 東京都小平市小川町一丁目…); 丁目 typed in digits is read as the register writes it (一丁目).
- 生年月日: the same day (item 6). 性別: 男 or 女 (item 7).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from juki.domain.errors import DomainError, InvalidField
from juki.domain.identifiers import validate_resident_code
from juki.domain.names import kana_search_keys, name_search_key, seion_kana

# The items a search may use, by the names of the 本人確認情報 (the log records these names, never the values).
RESIDENT_CODE, NAME, ADDRESS, BIRTH_DATE, SEX = "住民票コード", "氏名", "住所", "生年月日", "性別"
SEXES = ("男", "女")
MAX_TEXT = 200  # longer than any name or address the file holds
MAX_ANSWERS = 100  # a search that selects more is too wide to be a 本人確認: the answer says it was cut


class SearchNeedsTwoItems(DomainError):
    code = "search_needs_two_items"
    status = 422
    default_message = "性別以外の2項目以上を指定してください（氏名と住所、または氏名と生年月日。住民票コードは単独で検索できます）"


class SearchNeedsName(DomainError):
    code = "search_needs_name"
    status = 422
    default_message = "氏名と住所、または氏名と生年月日の組み合わせで検索してください"
    default_field = "name"


class CodeStandsAlone(InvalidField):
    default_message = "住民票コードで検索するときは、ほかの条件を指定しないでください"
    default_field = "resident_code"


# The purposes of a query of the national server: the provisions under which the 機構 provides 機構保存本人確認情報
# to a 市町村の執行機関 — the three this city cites as its basis (seed I 4, 法令上の根拠). The key travels on the wire.
PURPOSES: dict[str, tuple[str, str]] = {
    "30-10": ("住基法第30条の10", "通知都道府県の区域内の市町村の執行機関への本人確認情報の提供"),
    "30-12": (
        "住基法第30条の12",
        "通知都道府県以外の都道府県の区域内の市町村の執行機関への本人確認情報の提供",
    ),
    "30-14": ("住基法第30条の14", "市町村の条例による本人確認情報の提供"),
}


class PurposeRequired(DomainError):
    code = "purpose_required"
    status = 422
    default_message = "照会の目的（根拠条文）を選んでください"
    default_field = "purpose"


class UnknownPurpose(InvalidField):
    default_message = "照会の目的は住基法第30条の10・第30条の12・第30条の14のいずれかです"
    default_field = "purpose"


def purpose_of(value: str | None) -> str:
    """The purpose a query states (a key of PURPOSES): none is `purpose_required`."""
    text = (value or "").strip()
    if not text:
        raise PurposeRequired()
    if text not in PURPOSES:
        raise UnknownPurpose()
    return text


@dataclass(frozen=True)
class Conditions:
    resident_code: str | None = None
    name: str | None = None
    address: str | None = None
    birth_date: date | None = None
    sex: str | None = None

    @property
    def items(self) -> tuple[str, ...]:
        """The names of the items used, in the file's order (what the logs record)."""
        given = (
            (RESIDENT_CODE, self.resident_code),
            (NAME, self.name),
            (BIRTH_DATE, self.birth_date),
            (SEX, self.sex),
            (ADDRESS, self.address),
        )
        return tuple(item for item, value in given if value is not None)


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    if len(text) > MAX_TEXT:
        raise InvalidField(f"{MAX_TEXT}文字以内で入力してください", field)
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidField("制御文字は使えません", field)
    return text


def conditions(
    resident_code: str | None = None,
    name: str | None = None,
    address: str | None = None,
    birth_date: date | None = None,
    sex: str | None = None,
) -> Conditions:
    """The conditions of one search, or the rule they break (the module's docstring)."""
    code = _text(resident_code, "resident_code")
    name_, address_ = _text(name, "name"), _text(address, "address")
    sex_ = _text(sex, "sex")
    if sex_ is not None and sex_ not in SEXES:
        raise InvalidField("性別は男か女です", "sex")
    if code is not None:
        if name_ or address_ or birth_date or sex_:
            raise CodeStandsAlone()
        return Conditions(resident_code=validate_resident_code(code))
    counted = [v for v in (name_, address_, birth_date) if v is not None]
    if len(counted) < 2:
        raise SearchNeedsTwoItems()
    if name_ is None:
        raise SearchNeedsName()
    if not _name_words(name_):
        raise InvalidField("氏名に文字がありません", "name")
    return Conditions(None, name_, address_, birth_date, sex_)


# --- matching -----------------------------------------------------------------------------------------------------

Items = Mapping[str, str | None]
_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ffー・\s]+")
_PREFECTURE = re.compile(r"(?:北海道|東京都|京都府|大阪府|[^\s都道府県]{2,3}県)")
_MUNICIPALITY = re.compile(
    r"[^\s市区町村]+?郡[^\s市区町村]+?[町村]|[^\s市区町村]+?市[^\s市区町村]+?区|[^\s市区町村]+?[市区町村]"
)
_CHOME = re.compile(r"(\d+)丁目")
_KANJI = "〇一二三四五六七八九"


def _name_words(text: str) -> list[str]:
    return [w for w in text.split() if w.strip("ー・")]


def _kanji_number(n: int) -> str:
    """1–99 as the register writes a 丁目 (一, 十, 十二, 二十三)."""
    tens, ones = divmod(n, 10)
    if n <= 0 or n >= 100:
        return str(n)
    return (("" if tens == 1 else _KANJI[tens]) + "十" if tens else "") + (_KANJI[ones] if ones else "")


def address_key(text: str) -> str:
    """An address as compared: NFKC, no spaces, 丁目 in kanji as the register writes it."""
    compact = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return _CHOME.sub(lambda m: _kanji_number(int(m[1])) + "丁目", compact)


def _address_starts(stored: str) -> list[str]:
    """The stored address from its start, after its 都道府県, and after its 都道府県 and 市区町村."""
    key = address_key(stored)
    starts = [key]
    if m := _PREFECTURE.match(key):
        rest = key[m.end() :]
        starts.append(rest)
        if c := _MUNICIPALITY.match(rest):
            starts.append(rest[c.end() :])
    return starts


def _parts(stored: str | None) -> tuple[str, str]:
    """A stored name item (氏 U+3000 名) as its two parts; a name without 名 has an empty one."""
    family, _, given = (stored or "").partition("\u3000")
    return family, given


def _name_matcher(typed: str) -> Callable[[Items], bool]:
    words = _name_words(typed)
    if _KANA.fullmatch(typed):
        whole = set(kana_search_keys("".join(words), joined=True))
        one = seion_kana(words[0]) if len(words) == 1 else None

        def kana(items: Items) -> bool:
            family, given = _parts(items.get("清音化かな氏名"))
            return family + given in whole or (one is not None and one in (family, given) and one != "")

        return kana
    typed_key = name_search_key(typed).replace(" ", "")
    single = typed_key if len(words) == 1 else None

    def kanji(items: Items) -> bool:
        family, given = (name_search_key(p).replace(" ", "") for p in _parts(items.get("漢字氏名")))
        return family + given == typed_key or (single is not None and single in (family, given))

    return kanji


def _address_matcher(typed: str) -> Callable[[Items], bool]:
    key = address_key(typed)
    return lambda items: any(s.startswith(key) for s in _address_starts(items.get("住所") or ""))


def matcher(c: Conditions) -> Callable[[Items], bool]:
    """Whether a person's items meet every condition (the exact ones first: they are the cheapest)."""
    tests: list[Callable[[Items], bool]] = []
    if c.resident_code is not None:
        code = c.resident_code
        tests.append(lambda items: items.get(RESIDENT_CODE) == code)
    if c.birth_date is not None:
        born = c.birth_date.isoformat()
        tests.append(lambda items: items.get(BIRTH_DATE) == born)
    if c.sex is not None:
        sex = c.sex
        tests.append(lambda items: items.get(SEX) == sex)
    if c.name is not None:
        tests.append(_name_matcher(c.name))
    if c.address is not None:
        tests.append(_address_matcher(c.address))
    return lambda items: all(test(items) for test in tests)
