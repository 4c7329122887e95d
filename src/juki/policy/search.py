"""Search rules (seed III: 検索は氏名・住所・生年月日のうち二つ以上): what a search must give, and how names match.

Kanji names match exactly; kana match on the 清音化 key (標準仕様書 j330), so ガ=カ, ッ=ツ, ヅ=ズ and the like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from juki.domain import address as addr
from juki.domain.dates import parse_date
from juki.domain.errors import DomainError, InsufficientSearchCriteria, InvalidField
from juki.domain.identifiers import validate_my_number, validate_resident_code
from juki.domain.names import seion_kana

MAX_RESULTS = 100
_KANA = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9fー]+$")


@dataclass(frozen=True)
class NameTerm:
    text: str
    is_kana: bool


@dataclass(frozen=True)
class SearchQuery:
    family: NameTerm | None = None
    given: NameTerm | None = None
    either: NameTerm | None = None  # a name without whitespace: family, given, or both joined
    birth_date: date | None = None
    address: str | None = None
    sex: str | None = None
    resident_code: str | None = None
    my_number: str | None = None
    limit: int = MAX_RESULTS

    @property
    def uses_my_number(self) -> bool:
        return self.my_number is not None


def name_term(text: str) -> NameTerm:
    part = unicodedata.normalize("NFKC", text).strip()
    if _KANA.match(part):
        return NameTerm(seion_kana(part), True)
    return NameTerm(unicodedata.normalize("NFC", text.strip()), False)


def address_term(text: str) -> str:
    """Search address text in the register's canonical spelling (丁目 in kanji, digits half-width)."""
    raw = unicodedata.normalize("NFKC", text).strip()
    local = raw.removeprefix("東京都").removeprefix("小平市")
    try:
        return addr.town_of(local).town  # a town alone: 「小川町1丁目」 → 「小川町一丁目」
    except DomainError:
        pass
    try:
        parsed = addr.parse_city_address("東京都小平市" + local)
    except DomainError:
        return local or raw
    return addr.canonical_address(parsed, with_katagaki=False).removeprefix("東京都小平市")


def parse_criteria(params: Mapping[str, str]) -> SearchQuery:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    for key, value in params.items():
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise InvalidField("制御文字は指定できません", key)
    if "resident_code" in params or "my_number" in params:
        if len(params) != 1:
            raise InvalidField("住民票コード・個人番号による検索は単独で指定してください", "resident_code")
        if "resident_code" in params:
            return SearchQuery(resident_code=validate_resident_code(params["resident_code"]))
        return SearchQuery(my_number=validate_my_number(params["my_number"]))
    given = sum(1 for key in ("name", "birth_date", "address") if key in params)
    if given < 2:
        raise InsufficientSearchCriteria("氏名・生年月日・住所のうち二つ以上を指定してください")
    family = given_name = either = None
    if "name" in params:
        parts = re.split(r"[ \u3000]+", params["name"].strip())
        if len(parts) > 2 or not parts[0]:
            raise InvalidField("氏名は「氏 名」の形で指定してください", "name")
        if len(parts) == 2:
            family, given_name = name_term(parts[0]), name_term(parts[1])
        else:
            either = name_term(parts[0])
    sex = params.get("sex")
    if sex is not None and sex not in ("male", "female"):
        raise InvalidField("性別は male か female です", "sex")
    return SearchQuery(
        family=family,
        given=given_name,
        either=either,
        birth_date=parse_date(params["birth_date"], "birth_date") if "birth_date" in params else None,
        address=address_term(params["address"]) if "address" in params else None,
        sex=sex,
    )
