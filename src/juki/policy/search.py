"""Search rules (seed III: 検索は氏名・住所・生年月日のうち二つ以上): what a search must give, and how names match.

標準仕様書 j330/j340, as this module reads them:
- kana match on the 清音化 key (`domain.names.seion_kana`), so ガ=カ, ッ=ツ, ヅ=ズ, ヲ=オ, コウ=コオ and the like;
  kanji (and alphabet) names match as stored (NFC);
- a name matches exactly (default), from its start (`name_match=prefix`) or anywhere in it (`partial`); a name
  without a space matches the family name, the given name, or both joined — in every mode;
- a name is typed as people write it: any number of spaces (ASCII or U+3000) anywhere, and the name matches when
  any split of it at a space gives the family and the given name — a foreign resident's parts hold spaces of their
  own (氏 `DELA CRUZ`, 名 `MARIA CLARA`); Latin letters match without regard to case or width
  (`domain.names.name_search_key`);
- the 通称 and the 併記名 (a foreign resident's other names, j340) match too, each as one string whose spaces do
  not count (「王川 明」 = 「王川明」);
- `history`: names and addresses match the person's earlier versions too (旧氏名・旧住所), each criterion on its
  own: a maiden name and today's address find her. Birth date and sex are always today's;
- exact look-ups by a number stand alone: 住民票コード, 個人番号, 宛名番号, 世帯番号, 在留カード番号.
The two-criteria rule holds in every mode: a partial name or an old address is no less a search of the register.

The criteria arrive typed and checked for control characters: the API's query (`ResidentsQuery`), the search
screen's `SearchCriteriaIn` and the look-up's `LookupBody` (web/schemas.py) give text, and `history` as the text
`"true"` when asked for. So `parse_criteria` checks values only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from juki.domain import address as addr
from juki.domain.dates import parse_date
from juki.domain.errors import (
    DomainError,
    InsufficientSearchCriteria,
    InvalidField,
    InvalidResidenceCardNumber,
    InvalidSex,
)
from juki.domain.identifiers import (
    validate_addressee_number,
    validate_household_number,
    validate_my_number,
    validate_resident_code,
)
from juki.domain.names import O_ROW, joined_name_key, kana_search_keys, name_search_key

MAX_RESULTS = 100
MAX_NAME_WORDS = 8  # a name typed in more parts than any real one has is a mistake, not a search
_KANA = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9fー]+$")
_CARD = re.compile(r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$")

EXACT, PREFIX, PARTIAL = "exact", "prefix", "partial"
NAME_MATCHES = (EXACT, PREFIX, PARTIAL)  # 完全一致・前方一致・部分一致 (j330)
CRITERIA = ("name", "birth_date", "address")  # two of these, at least
SEXES = ("male", "female")
LOOKUPS = ("resident_code", "my_number", "addressee_number", "household_number", "residence_card_number")


@dataclass(frozen=True)
class NameTerm:
    """One name as searched: `text` is the kana key or the name as stored.

    `keys` are what a stored value equals (exact) or starts with (prefix); `parts` what it contains (partial).
    The `joined_*` forms are for the family and given name stored side by side (a name typed without a space).
    For kanji every form is `(text,)`; kana have more (see `domain.names.kana_search_keys`).
    """

    text: str
    is_kana: bool
    keys: tuple[str, ...] = ()
    joined_keys: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    joined_parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("keys", "joined_keys", "parts", "joined_parts"):
            if not getattr(self, name):
                object.__setattr__(self, name, (self.text,))


@dataclass(frozen=True)
class SearchQuery:
    # A name typed with spaces: each way of splitting it at a space into (family, given); one matching is enough.
    splits: tuple[tuple[NameTerm, NameTerm], ...] = ()
    either: NameTerm | None = None  # a name without whitespace: family, given, or both joined
    other_name: str | None = None  # the whole name as a 通称 or 併記名 matches it (`joined_name_key`)
    birth_date: date | None = None
    address: str | None = None
    sex: str | None = None
    name_match: str = EXACT
    history: bool = False  # match earlier names and addresses too (j340)
    resident_code: str | None = None
    my_number: str | None = None
    addressee_number: str | None = None
    household_number: str | None = None
    residence_card_number: str | None = None
    limit: int = MAX_RESULTS

    @property
    def uses_my_number(self) -> bool:
        return self.my_number is not None


def _parts(keys: tuple[str, ...], after_o_row: tuple[str, ...]) -> tuple[str, ...]:
    """What a stored key must contain to hold a part of a reading: one of `keys`, or one of `after_o_row`
    right after an オ段 letter (there the ウ-after-オ段 rule has turned a leading ウ into オ)."""
    extra = [o + k for k in after_o_row if k not in keys for o in sorted(O_ROW)]
    return tuple(dict.fromkeys([*keys, *extra]))


def name_term(text: str) -> NameTerm:
    """One part of a name as searched (it may hold spaces: 名 `DUC MINH`, 「ドゥック ミン」)."""
    part = unicodedata.normalize("NFKC", text).strip()
    if _KANA.match(part.replace(" ", "")):
        keys = kana_search_keys(part)
        if not keys[0]:  # only marks (ー, ・): a key that every reading would start with
            raise InvalidField("氏名のカナに文字がありません", "name")
        joined = kana_search_keys(part, joined=True)
        return NameTerm(
            keys[0],
            True,
            keys=keys,
            joined_keys=joined,
            parts=_parts(keys, kana_search_keys(part, after_o_row=True)),
            joined_parts=_parts(joined, kana_search_keys(part, joined=True, after_o_row=True)),
        )
    return NameTerm(name_search_key(text), False)


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


def _lookup(key: str, value: str) -> SearchQuery:
    if key == "resident_code":
        return SearchQuery(resident_code=validate_resident_code(value))
    if key == "my_number":
        return SearchQuery(my_number=validate_my_number(value))
    if key == "addressee_number":
        return SearchQuery(addressee_number=validate_addressee_number(value))
    if key == "household_number":
        return SearchQuery(household_number=validate_household_number(value))
    card = unicodedata.normalize("NFKC", value).strip().upper()
    if not _CARD.match(card):
        raise InvalidResidenceCardNumber(field=key)
    return SearchQuery(residence_card_number=card)


def _name(text: str) -> tuple[tuple[tuple[NameTerm, NameTerm], ...], NameTerm | None, str | None]:
    """A name as typed → its splits into (family, given) at each space, or one word; and its 通称/併記名 key."""
    words = unicodedata.normalize("NFKC", text).split()  # any whitespace, U+3000 included; runs count as one
    if not words:
        raise InvalidField("氏名を入力してください", "name")
    if len(words) > MAX_NAME_WORDS:
        raise InvalidField(f"氏名は空白で{MAX_NAME_WORDS}つ以内に区切って入力してください", "name")
    other = joined_name_key("".join(words))
    if len(words) == 1:
        return (), name_term(words[0]), other
    splits = tuple(
        (name_term(" ".join(words[:i])), name_term(" ".join(words[i:]))) for i in range(1, len(words))
    )
    return splits, None, other


def parse_criteria(params: Mapping[str, str]) -> SearchQuery:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    lookups = [key for key in LOOKUPS if key in params]
    if lookups:
        # A number names one person (or household): nothing may be added to it, nor widen it.
        if len(params) != 1:
            raise InvalidField(
                "番号（住民票コード・個人番号・宛名番号・世帯番号・在留カード番号）による検索は単独で指定してください",
                lookups[0],
            )
        return _lookup(lookups[0], params[lookups[0]])
    return _criteria(params)


def _criteria(params: Mapping[str, str]) -> SearchQuery:
    """Two of name / birth date / address, how the name matches, sex, and whether earlier versions count."""
    if sum(1 for key in CRITERIA if key in params) < 2:
        raise InsufficientSearchCriteria("氏名・生年月日・住所のうち二つ以上を指定してください")
    name_match = params.get("name_match", EXACT)
    if name_match not in NAME_MATCHES:
        raise InvalidField("一致の方法は exact・prefix・partial のいずれかです", "name_match")
    splits, either, other_name = _name(params["name"]) if "name" in params else ((), None, None)
    sex = params.get("sex")
    if sex is not None and sex not in SEXES:
        raise InvalidSex()
    return SearchQuery(
        splits=splits,
        either=either,
        other_name=other_name,
        birth_date=parse_date(params["birth_date"], "birth_date") if "birth_date" in params else None,
        address=address_term(params["address"]) if "address" in params else None,
        sex=sex,
        name_match=name_match,
        history=params.get("history") == "true",
    )
