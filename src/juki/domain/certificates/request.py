"""What can be asked for on a certificate, and the request's own rules (住基法第12条・第12条の2・第12条の3, j1000).

`parse_request` checks the request's values (422 `invalid_field`); `check_items` who may have which items printed.
What the register says about the persons is `subjects.py`.

The request arrives typed: as the request model `CertificateBody` (web/schemas.py) gives it, for the API and the
counter's form alike, or as the kiosk builds it (`kiosk.certificate_request`). So strings are strings, `include`
maps items to booleans, `omit` and `items` are lists of strings and `copies` is an integer; only values are checked
here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from juki.domain.certificate_settings import DEFAULT as DEFAULT_SETTINGS
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.commands import MEMBER_ORDER
from juki.domain.errors import Forbidden, InvalidField
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.domain.intake import free_text


@dataclass(frozen=True)
class Kind:
    code: str
    name: str  # as the clerk and the verify page call it
    title: str  # printed at the top of every page
    of_removed: bool  # a 除票 (removed record) rather than a current one
    fee: int  # 手数料 per copy, yen (小平市手数料条例; 転出証明書 is free)


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("residence_certificate", "住民票の写し", "住　民　票", False, 300),
        Kind("entry_certificate", "住民票記載事項証明書", "住民票記載事項証明書", False, 300),
        Kind("removed_record_certificate", "除票の写し", "除　票", True, 300),
        Kind("move_out_certificate", "転出証明書", "転　出　証　明　書", True, 0),
    )
}

REQUESTER_TYPES = ("self", "household_member", "agent", "third_party", "official")
REQUESTER_NAMES = {
    "self": "本人",
    "household_member": "同一世帯の者",
    "agent": "代理人",
    "third_party": "第三者（第12条の3）",
    "official": "国又は地方公共団体の機関（第12条の2）",
}
# 第12条: the person or someone of the same household; only they may have the two numbers printed.
OWN_HOUSEHOLD = frozenset({"self", "household_member"})
INCLUDE = ("householder_and_relationship", "honseki", "resident_code", "my_number", "history")
NUMBERS = frozenset({"resident_code", "my_number"})
# A foreign resident's items, printed unless left out one by one (j1000).
FOREIGN_ITEMS = {
    "nationality": "国籍・地域",
    "article_30_45_category": "法第30条の45に規定する区分",
    "status_of_residence": "在留資格",
    "period_of_stay": "在留期間等",
    "stay_expires_on": "在留期間等の満了の日",
    "residence_card_number": "在留カード等の番号",
    "alias_name": "通称",
}
# 通称の記載及び削除に関する事項 (施行令第30条の27): printed on an attachment page (別紙) unless left out.
ALIAS_HISTORY = "alias_history"
OMITTABLE = frozenset({*FOREIGN_ITEMS, ALIAS_HISTORY, "katagaki"})
# What a 記載事項証明書 certifies: the items asked for (default: all of these).
ENTRY_ITEMS = ("name", "birth_date", "sex", "address", "resident_since", "address_since", "previous_address")
LAYOUTS = ("household", "individual")
MAX_COPIES = 10
MAX_PERSONS = 50
# j40: entries kept on the page but not printed; a change of 記載順位 (j1010) is no 異動 and is not printed either,
# nor is a number's own change (個人番号指定・変更, 住民票コード記載・変更): the numbers print only when asked (j1000).
HIDDEN_HISTORY = ("特別養子縁組", "性別", MEMBER_ORDER, "個人番号", "住民票コード")
_PURPOSE_LIMIT = 200


@dataclass(frozen=True)
class Requester:
    type: str
    name: str
    addressee_number: str | None = None  # the person (self, household member) or the principal of an agent
    reason: str | None = None  # 第12条の3 justification, or the public body's legal basis and duty
    identity_document: str | None = None  # the kind of document shown at the counter (never its number)
    authority_document: str | None = None  # 委任状 for an agent


@dataclass(frozen=True)
class CertificateRequest:
    kind: str
    household_number: str | None
    addressee_numbers: tuple[str, ...]
    include: frozenset[str]
    omit: frozenset[str]
    layout: str
    requester: Requester
    purpose: str
    copies: int = 1
    items: tuple[str, ...] = ENTRY_ITEMS  # 記載事項証明書 only

    @property
    def kind_info(self) -> Kind:
        return KINDS[self.kind]

    @property
    def shows_my_number(self) -> bool:
        return "my_number" in self.include


def _text(data: Mapping[str, Any], key: str, limit: int = 200) -> str | None:
    value = data.get(key)
    return free_text(data, key, limit) if value and value.strip() else None


def _flags(
    data: Mapping[str, bool] | None,
    allowed: Sequence[str] | frozenset[str],
    path: str,
    defaults: frozenset[str],
) -> frozenset[str]:
    """The items switched on: the city's defaults (j1000), each overridden by an explicit true or false."""
    if data is None:
        return defaults
    chosen = set(defaults)
    for key, value in data.items():
        if key not in allowed:
            raise InvalidField("指定できない項目です", f"{path}.{key}")
        if value:
            chosen.add(key)
        else:
            chosen.discard(key)
    return frozenset(chosen)


def _names(data: Sequence[str], allowed: Sequence[str] | frozenset[str], path: str) -> tuple[str, ...]:
    unknown = [v for v in data if v not in allowed]
    if unknown:
        raise InvalidField(f"指定できない項目です: {', '.join(unknown[:5])}", path)
    return tuple(dict.fromkeys(data))


def parse_requester(data: Mapping[str, Any], identity: Mapping[str, Any] | None) -> Requester:
    kind = data.get("type")
    if kind not in REQUESTER_TYPES:
        raise InvalidField(f"請求者の種別は {' / '.join(REQUESTER_TYPES)} のいずれかです", "requester.type")
    name = free_text(data, "name", 200) if "name" in data else None
    if name is None:
        raise InvalidField("請求者の氏名（名称）は必須です", "requester.name")
    number = data.get("addressee_number")
    if number is not None:
        number = validate_addressee_number(number, "requester.addressee_number")
    if kind in ("self", "household_member", "agent") and number is None:
        who = "委任した本人" if kind == "agent" else "請求者"
        raise InvalidField(f"{who}の宛名番号が必要です", "requester.addressee_number")
    reason = _text(data, "reason", 500)
    if kind in ("third_party", "official") and reason is None:
        basis = "請求事由（第12条の3）" if kind == "third_party" else "法令上の根拠と事務（第12条の2）"
        raise InvalidField(f"{basis}が必要です", "requester.reason")
    document = authority = None
    if identity is not None:
        document = _text(identity, "document", 60)
        authority = _text(identity, "authority_document", 60)
    if kind == "agent" and authority is None:
        raise InvalidField("代理人の請求には委任状が必要です", "identity_check.authority_document")
    return Requester(kind, name, number, reason, document, authority)


def parse_request(
    payload: Mapping[str, Any], settings: CertificateSettings = DEFAULT_SETTINGS
) -> CertificateRequest:
    """The request's values (422 `invalid_field`); who may have what is `check_items`.

    What the request does not say takes the city's defaults for the kind (j1000): `include` item by item, `omit` as
    a whole (a request that lists its own omissions replaces the default list)."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise InvalidField(f"証明書の種類は {' / '.join(KINDS)} のいずれかです", "kind")
    household, persons = _subjects(payload)
    defaults = settings.kind(kind)
    # In the order the fields are checked: the first wrong one is the one reported.
    include = _flags(payload.get("include"), INCLUDE, "include", _default_items(payload, defaults.include))
    omit = _omit(payload, kind, defaults.omit)
    layout = payload.get("layout", "household")
    if layout not in LAYOUTS:
        raise InvalidField("layout は household / individual のいずれかです", "layout")
    copies = _copies(payload)
    items = _entry_items(payload, kind)
    return CertificateRequest(
        kind=kind,
        household_number=household,
        addressee_numbers=persons,
        include=include,
        omit=omit,
        layout=layout,
        requester=parse_requester(payload["requester"], payload.get("identity_check")),
        purpose=free_text(payload, "purpose", _PURPOSE_LIMIT),
        copies=copies,
        items=items,
    )


def _subjects(payload: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """A household (all its current members) or the persons named, never both."""
    household = payload.get("household_number")
    numbers = payload.get("addressee_numbers")
    if (household is None) == (numbers is None):
        raise InvalidField(
            "household_number か addressee_numbers のどちらか一方を指定してください", "household_number"
        )
    if household is not None:
        return validate_household_number(household), ()
    if not numbers or len(numbers) > MAX_PERSONS:
        raise InvalidField(f"宛名番号を1〜{MAX_PERSONS}件指定してください", "addressee_numbers")
    return None, tuple(dict.fromkeys(validate_addressee_number(n, "addressee_numbers") for n in numbers))


def _omit(payload: Mapping[str, Any], kind: str, defaults: frozenset[str]) -> frozenset[str]:
    if payload.get("omit") is None:
        return defaults
    omit = frozenset(_names(payload["omit"], sorted(OMITTABLE), "omit"))
    if "katagaki" in omit and kind != "entry_certificate":
        raise InvalidField("方書を省略できるのは記載事項証明書だけです（j1030）", "omit")
    return omit


def _copies(payload: Mapping[str, Any]) -> int:
    copies: int = payload.get("copies", 1)
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidField(f"通数は1〜{MAX_COPIES}です", "copies")
    return copies


def _entry_items(payload: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    """What a 記載事項証明書 certifies: the items asked for, all of them by default."""
    if payload.get("items") is None:
        return ENTRY_ITEMS
    if kind != "entry_certificate":
        raise InvalidField("証明する事項を選べるのは記載事項証明書だけです", "items")
    items = _names(payload["items"], ENTRY_ITEMS, "items")
    if not items:
        raise InvalidField("証明する事項を1つ以上指定してください", "items")
    return items


def _default_items(payload: Mapping[str, Any], defaults: frozenset[str]) -> frozenset[str]:
    """The city's default items are for the person and those acting for them. A third party's or a public body's
    certificate carries the basic items unless an item is asked for (第12条の3第7項): no defaults."""
    kind = payload["requester"].get("type")
    return defaults if kind in (*OWN_HOUSEHOLD, "agent") else frozenset()


def check_items(req: CertificateRequest, may_reveal_my_number: bool) -> None:
    """第12条: 住民票コード and 個人番号 only for the person or their household; a My Number only when the staff
    member's procedure may reveal it."""
    asked = sorted(req.include & NUMBERS)
    if asked and req.requester.type not in OWN_HOUSEHOLD:
        raise Forbidden(
            f"{REQUESTER_NAMES[req.requester.type]}の請求には住民票コード・個人番号を記載できません",
            "include",
        )
    if req.shows_my_number and not may_reveal_my_number:
        raise Forbidden("この事務では個人番号を記載できません", "include.my_number")
