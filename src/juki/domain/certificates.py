"""Certificates (住民票の写し等): who may have which items printed, and the pages they are printed on.

Pure rules, no I/O (住基法第12条・第12条の2・第12条の3, 標準仕様書 j1000–j1070):
- 世帯主・続柄, 本籍・筆頭者, 住民票コード and 個人番号 are left out unless asked for (`include`); 住民票コード and
  個人番号 only for the person or their own household (`self`, `household_member`), never for an agent, a third party
  or a public body (`forbidden`);
- a foreign resident's items (第30条の45) are printed unless left out one by one (`omit`); the 方書 is always
  printed (j1030) except when a 記載事項証明書 leaves it out;
- history (異動履歴) is printed only when asked for, and never the entries of a 特別養子縁組 or a 性別変更 (j40);
- until the planned date of a move-out the person is still present (現存者, j50): a 住民票の写し prints them
  without the items the 転出届 recorded (j1000), and there is no 除票 yet;
- the household layout (世帯連記式) takes up to four persons a page; the 認証文 goes on the last page only; every
  page carries the 発行番号 and "page x of y" (j1000, j1040).

`layout()` turns the chosen records into `CertificateDocument`, the page layout as data; adapters/pdf.py draws it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from juki.domain.certificate_settings import DEFAULT as DEFAULT_SETTINGS
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.commands import MEMBER_ORDER
from juki.domain.dates import format_date, to_wareki
from juki.domain.errors import Forbidden, InvalidField, NotResident
from juki.domain.identifiers import validate_addressee_number, validate_household_number
from juki.domain.intake import free_text
from juki.domain.model import Address, ResidentRecord

# --- what can be asked for ---------------------------------------------------------------------------------------


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
# j40: entries kept on the page but not printed; a change of 記載順位 (j1010) is no 異動 and is not printed either.
HIDDEN_HISTORY = ("特別養子縁組", "性別", MEMBER_ORDER)
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


def _text(data: Mapping[str, Any], key: str, path: str, limit: int = 200) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField("文字列で指定してください", path + key)
    return free_text(data, key, limit) if value.strip() else None


def _flags(
    data: Any, allowed: Sequence[str] | frozenset[str], path: str, defaults: frozenset[str]
) -> frozenset[str]:
    """The items switched on: the city's defaults (j1000), each overridden by an explicit true or false."""
    if data is None:
        return defaults
    if not isinstance(data, Mapping):
        raise InvalidField("項目ごとの真偽値で指定してください", path)
    chosen = set(defaults)
    for key, value in data.items():
        if key not in allowed:
            raise InvalidField("指定できない項目です", f"{path}.{key}")
        if not isinstance(value, bool):
            raise InvalidField("真偽値で指定してください", f"{path}.{key}")
        if value:
            chosen.add(key)
        else:
            chosen.discard(key)
    return frozenset(chosen)


def _names(data: Any, allowed: Sequence[str] | frozenset[str], path: str) -> tuple[str, ...]:
    if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
        raise InvalidField("項目名の一覧で指定してください", path)
    unknown = [v for v in data if v not in allowed]
    if unknown:
        raise InvalidField(f"指定できない項目です: {', '.join(unknown[:5])}", path)
    return tuple(dict.fromkeys(data))


def parse_requester(data: Any, identity: Any) -> Requester:
    if not isinstance(data, Mapping):
        raise InvalidField("請求者を指定してください", "requester")
    kind = data.get("type")
    if kind not in REQUESTER_TYPES:
        raise InvalidField(f"請求者の種別は {' / '.join(REQUESTER_TYPES)} のいずれかです", "requester.type")
    name = free_text(data, "name", 200) if "name" in data else None
    if name is None:
        raise InvalidField("請求者の氏名（名称）は必須です", "requester.name")
    number = data.get("addressee_number")
    if number is not None:
        if not isinstance(number, str):
            raise InvalidField("文字列で指定してください", "requester.addressee_number")
        number = validate_addressee_number(number, "requester.addressee_number")
    if kind in ("self", "household_member", "agent") and number is None:
        who = "委任した本人" if kind == "agent" else "請求者"
        raise InvalidField(f"{who}の宛名番号が必要です", "requester.addressee_number")
    reason = _text(data, "reason", "requester.", 500)
    if kind in ("third_party", "official") and reason is None:
        basis = "請求事由（第12条の3）" if kind == "third_party" else "法令上の根拠と事務（第12条の2）"
        raise InvalidField(f"{basis}が必要です", "requester.reason")
    document = authority = None
    if identity is not None:
        if not isinstance(identity, Mapping):
            raise InvalidField("本人確認を指定してください", "identity_check")
        document = _text(identity, "document", "identity_check.", 60)
        authority = _text(identity, "authority_document", "identity_check.", 60)
    if kind == "agent" and authority is None:
        raise InvalidField("代理人の請求には委任状が必要です", "identity_check.authority_document")
    return Requester(kind, name, number, reason, document, authority)


def parse_request(
    payload: Mapping[str, Any], settings: CertificateSettings = DEFAULT_SETTINGS
) -> CertificateRequest:
    """The request's shape and values (422 `invalid_field`); who may have what is `check_items`.

    What the request does not say takes the city's defaults for the kind (j1000): `include` item by item, `omit` as
    a whole (a request that lists its own omissions replaces the default list)."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise InvalidField(f"証明書の種類は {' / '.join(KINDS)} のいずれかです", "kind")
    household = payload.get("household_number")
    numbers = payload.get("addressee_numbers")
    if (household is None) == (numbers is None):
        raise InvalidField(
            "household_number か addressee_numbers のどちらか一方を指定してください", "household_number"
        )
    if household is not None:
        if not isinstance(household, str):
            raise InvalidField("文字列で指定してください", "household_number")
        household = validate_household_number(household)
    persons: tuple[str, ...] = ()
    if numbers is not None:
        if not isinstance(numbers, list) or not numbers or len(numbers) > MAX_PERSONS:
            raise InvalidField(f"宛名番号を1〜{MAX_PERSONS}件指定してください", "addressee_numbers")
        if not all(isinstance(n, str) for n in numbers):
            raise InvalidField("宛名番号は文字列です", "addressee_numbers")
        persons = tuple(dict.fromkeys(validate_addressee_number(n, "addressee_numbers") for n in numbers))
    defaults = settings.kind(kind)
    include = _flags(payload.get("include"), INCLUDE, "include", _default_items(payload, defaults.include))
    omit = (
        frozenset(_names(payload["omit"], sorted(OMITTABLE), "omit"))
        if payload.get("omit") is not None
        else defaults.omit
    )
    if "katagaki" in omit and kind != "entry_certificate":
        raise InvalidField("方書を省略できるのは記載事項証明書だけです（j1030）", "omit")
    layout = payload.get("layout", "household")
    if layout not in LAYOUTS:
        raise InvalidField("layout は household / individual のいずれかです", "layout")
    copies = payload.get("copies", 1)
    if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= MAX_COPIES:
        raise InvalidField(f"通数は1〜{MAX_COPIES}です", "copies")
    items: tuple[str, ...] = ENTRY_ITEMS
    if payload.get("items") is not None:
        if kind != "entry_certificate":
            raise InvalidField("証明する事項を選べるのは記載事項証明書だけです", "items")
        items = _names(payload["items"], ENTRY_ITEMS, "items")
        if not items:
            raise InvalidField("証明する事項を1つ以上指定してください", "items")
    return CertificateRequest(
        kind=kind,
        household_number=household,
        addressee_numbers=persons,
        include=include,
        omit=omit,
        layout=layout,
        requester=parse_requester(payload.get("requester"), payload.get("identity_check")),
        purpose=free_text(payload, "purpose", _PURPOSE_LIMIT),
        copies=copies,
        items=items,
    )


def _default_items(payload: Mapping[str, Any], defaults: frozenset[str]) -> frozenset[str]:
    """The city's default items are for the person and those acting for them. A third party's or a public body's
    certificate carries the basic items unless an item is asked for (第12条の3第7項): no defaults."""
    requester = payload.get("requester")
    kind = requester.get("type") if isinstance(requester, Mapping) else None
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


# --- the persons on a certificate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    change_reason: str
    changed_on: date
    filed_on: date
    address: str


@dataclass(frozen=True)
class AliasEntry:
    """One line of 通称の記載及び削除に関する事項 (施行令第30条の27): the 通称, when and where it was entered, and
    when and where it was deleted (None while it stands)."""

    alias: str
    entered_on: date
    entered_by: str
    deleted_on: date | None = None
    deleted_by: str | None = None


@dataclass(frozen=True)
class Subject:
    record: ResidentRecord
    history: tuple[HistoryEntry, ...] = ()
    aliases: tuple[AliasEntry, ...] = ()


def alias_entries(versions: Sequence[tuple[date, str | None]], city: str) -> tuple[AliasEntry, ...]:
    """The 通称 history from the record's versions (each: the day it took effect, its 通称 or None), oldest first:
    a 通称 that appears is entered, one that changes or goes is deleted. Entries before this city's register are
    not known here, so every entry names this city."""
    out: list[AliasEntry] = []
    current: AliasEntry | None = None
    for changed_on, alias in versions:
        if current is not None and alias != current.alias:
            out.append(replace(current, deleted_on=changed_on, deleted_by=city))
            current = None
        if alias and current is None:
            current = AliasEntry(alias, changed_on, city)
    if current is not None:
        out.append(current)
    return tuple(out)


def is_present(record: ResidentRecord, today: date) -> bool:
    """Active, or moved out with a planned date still to come (j50: 現存者 until the 消除)."""
    if record.is_active:
        return True
    removal = record.removal
    return bool(removal and record.move_out and removal.removed_on > today)


def check_subjects(req: CertificateRequest, records: Sequence[ResidentRecord], today: date) -> None:
    """The records fit the kind: current ones for a 写し or 記載事項証明書, removed ones for a 除票, a 転出届 for a
    転出証明書; all of one household (a certificate is of one household's register)."""
    kind = req.kind_info
    for r in records:
        present = is_present(r, today)
        if req.kind == "move_out_certificate":
            if r.move_out is None:
                raise InvalidField(f"{r.addressee_number}: 転出の届出がありません", "addressee_numbers")
        elif kind.of_removed and present:
            raise InvalidField(f"{r.addressee_number}: 除票ではありません", "addressee_numbers")
        elif not kind.of_removed and not present:
            raise NotResident(f"{r.addressee_number}: 消除された住民です（除票の写しを請求してください）")
    if len({r.household_number for r in records}) > 1:
        raise InvalidField("一つの証明書には一つの世帯の住民だけを記載できます", "addressee_numbers")


def check_requester(
    req: CertificateRequest, requester: ResidentRecord | None, records: Sequence[ResidentRecord]
) -> None:
    """第12条: the person, or someone of the person's household (as the records stand), or an agent for them."""
    r = req.requester
    if r.type not in (*OWN_HOUSEHOLD, "agent"):
        return
    if requester is None:
        raise Forbidden("請求者（本人）が住民基本台帳に見つかりません", "requester.addressee_number")
    households = {x.household_number for x in records}
    same = requester.household_number in households
    if r.type == "self" and requester.addressee_number not in {x.addressee_number for x in records}:
        raise Forbidden(
            "本人の請求には本人を含めてください（同一世帯の者として請求できます）", "requester.type"
        )
    if not same:
        raise Forbidden(
            "請求者と同一の世帯に属さない住民の証明書です（第12条の3の請求をしてください）", "requester"
        )
    if r.type != "agent" and _plain(r.name) != _plain(requester.family_name + requester.given_name):
        raise Forbidden("請求者の氏名が住民票の記載と一致しません", "requester.name")


def _plain(name: str) -> str:
    return re.sub(r"[\s\u3000]", "", name)


def fee(req: CertificateRequest, per_copy: int | None = None) -> int:
    """手数料 of all copies: the kind's fee, or the one given (the city's コンビニ交付 fee); 公用 is free."""
    each = req.kind_info.fee if per_copy is None else per_copy
    return 0 if req.requester.type == "official" else each * req.copies


def visible_history(entries: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    return [e for e in entries if not any(word in e.change_reason for word in HIDDEN_HISTORY)]


# --- the page layout --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    label: str
    value: str
    span: int = 12  # of a 12-column grid
    emphasis: bool = False  # the name: printed larger


Row = tuple[Cell, ...]


@dataclass(frozen=True)
class Block:
    """One person's items (or the household's header), as rows of cells; `continued` marks a split block."""

    rows: tuple[Row, ...]
    continued: bool = False
    subject: str | None = (
        None  # the person's 宛名番号 (for the 文字超過リスト), None for the household header
    )


@dataclass(frozen=True)
class Overflow:
    """One line of the 文字超過リスト (j1070): a field that did not fit once shrunk to the minimum size, or that has
    characters no installed font has (外字). `text` is the whole value, for the clerk to write in by hand."""

    issuance_number: str
    subject: str | None  # 宛名番号
    item: str  # the printed label (氏名, 住所 …)
    problem: str  # "overflow" / "gaiji"
    text: str


PROBLEMS = {"overflow": "文字溢れ", "gaiji": "外字"}


@dataclass(frozen=True)
class Page:
    number: int
    total: int
    blocks: tuple[Block, ...]
    last: bool


@dataclass(frozen=True)
class Issuer:
    """Who certifies (j310, j1050): the prefecture before the title, the mayor's name, the seal."""

    city: str = "東京都小平市"
    short_city: str = "小平市"
    title: str = "東京都小平市長"
    name: str = "小平　一郎"  # a placeholder: the city sets its mayor's name (never blank, j310)
    office: str = "本庁"
    seal: str = "mayor"  # which seal image (j1050): mayor (市長印), certificate (証明専用印), none (公印省略)

    def signed(self, settings: CertificateSettings, kind: str, office: str | None = None) -> Issuer:
        """This issuer as the settings say for a kind: the mayor or the acting official, seal or not (j1050)."""
        official = settings.signer(kind)
        return replace(
            self,
            title=official.title,
            name=official.name,
            seal=settings.kind(kind).seal,
            office=office or self.office,
        )


@dataclass(frozen=True)
class CertificateDocument:
    kind: str
    title: str
    issuance_number: str
    issued_on: date
    terminal: str
    pages: tuple[Page, ...]
    statement: str  # 認証文, last page only
    issuer: Issuer
    verify_url: str
    official: bool  # 「公用」 (j1060)
    items: tuple[str, ...]  # what was printed, for the issuance record
    my_number_printed: bool
    copy_no: int = 1
    copies: int = 1
    printer: str = ""  # j1040: blank when unknown
    overflow: str = (
        "truncate"  # j1070: a field too long once shrunk is cut ("truncate") or left blank ("blank")
    )

    @property
    def issued_on_wareki(self) -> str:
        return to_wareki(self.issued_on)


ROWS_PER_PAGE = 38  # body rows of the grid on a page (A4, 5.5 mm each)
STATEMENT_ROWS = 8  # the 認証文, the date, the title and the seal take this much of the last page
PERSONS_PER_PAGE = 4


def _address(a: Address | None, katagaki: bool = True) -> str:
    if a is None:
        return ""
    text = a.address
    if katagaki and a.katagaki:
        text += "　" + a.katagaki
    return text


def _birth(r: ResidentRecord) -> str:
    if r.birth_date_unknown:
        return r.birth_date_unknown
    # j90: a foreign resident's birth date and stay expiry in the western calendar, everything else in wareki;
    # j80: unknown parts left blank (「昭和10年　月日不詳」).
    return format_date(r.birth_date, r.birth_date_unknown_parts, western=r.foreign is not None)


def _sex(r: ResidentRecord) -> str:
    return {"male": "男", "female": "女"}.get(r.sex, r.sex)


def _name(r: ResidentRecord) -> str:
    return f"{r.family_name}　{r.given_name}".strip()


@dataclass
class _Items:
    """Collects the rows of one person and the item codes printed."""

    rows: list[Row] = field(default_factory=list)
    printed: set[str] = field(default_factory=set)

    def add(self, code: str, *cells: Cell) -> None:
        self.rows.append(tuple(cells))
        self.printed.add(code)


def _person_rows(
    req: CertificateRequest, s: Subject, householder: str | None, individual: bool, today: date
) -> _Items:
    r, inc, kind = s.record, req.include, req.kind
    out = _Items()
    out.add(
        "name",
        Cell("氏名", _name(r), 6, emphasis=True),
        Cell("生年月日", _birth(r), 4),
        Cell("性別", _sex(r), 2),
    )
    if r.former_surname:
        out.add("former_surname", Cell("旧氏", r.former_surname, 12))
    if r.foreign and r.foreign.alias_name and "alias_name" not in req.omit:
        out.add("alias_name", Cell("通称", r.foreign.alias_name, 12))
    always_household = kind == "move_out_certificate"  # 施行令第23条: the certificate carries them
    relationship = "householder_and_relationship" in inc or always_household
    if relationship and individual:
        out.add(
            "householder_and_relationship",
            Cell("世帯主", householder or "", 7),
            Cell("続柄", r.relationship, 5),
        )
    if individual:
        out.add("address", Cell("住所", _address(r.address), 12))
    dates: tuple[Cell, ...] = (
        Cell("住民となった年月日", to_wareki(r.resident_since), 6),
        Cell("住所を定めた年月日", to_wareki(r.address_since), 6),
    )
    if relationship and not individual:  # 世帯連記式: the householder is in the header, 続柄 beside the dates
        dates = (Cell("続柄", r.relationship, 4), *(replace(c, span=4) for c in dates))
        out.printed.add("householder_and_relationship")
    out.add("resident_since", *dates)
    out.add(
        "previous_address",
        Cell("届出日", to_wareki(r.filed_on), 4),
        Cell("従前の住所", _address(r.previous_address), 8),
    )
    if ("honseki" in inc or always_household) and not r.foreign:
        out.add(
            "honseki",
            Cell("本籍", r.honseki or "", 7),
            Cell("筆頭者", r.family_register_head or "", 5),
        )
    numbers = []
    if "resident_code" in inc:
        numbers.append(Cell("住民票コード", r.resident_code or "", 6))
    if "my_number" in inc:
        numbers.append(Cell("個人番号", r.my_number or "", 6))
    if numbers:
        out.add("+".join(c for c in ("resident_code", "my_number") if c in inc), *numbers)
    if r.foreign:
        f = r.foreign
        values = {
            "nationality": f.nationality,
            "article_30_45_category": f.article_30_45_category,
            "status_of_residence": f.status_of_residence or "",
            "period_of_stay": f.period_of_stay or "",
            "stay_expires_on": format_date(f.stay_expires_on, western=True) if f.stay_expires_on else "",
            "residence_card_number": f.residence_card_number or "",
        }
        cells = [
            (code, Cell(FOREIGN_ITEMS[code], v, 6)) for code, v in values.items() if code not in req.omit
        ]
        for i in range(0, len(cells), 2):
            pair = cells[i : i + 2]
            out.add("+".join(c for c, _ in pair), *(c for _, c in pair))
    if kind in ("removed_record_certificate", "move_out_certificate") and r.removal:
        if kind == "move_out_certificate" and r.move_out:
            removal = [Cell("転出予定年月日", to_wareki(r.move_out.planned_on), 5)]
        else:
            removal = [Cell("消除事由", f"{to_wareki(r.removal.removed_on)}　{r.removal.reason}", 5)]
        if r.move_out:  # before the planned date a 写し leaves out what the 転出届 recorded (j1000)
            removal.append(Cell("転出先", _address(r.move_out.destination), 7))
        out.add("removal", *removal)
    if "history" in inc and kind != "move_out_certificate":
        entries = visible_history(s.history)
        for e in entries:
            out.add(
                "history",
                Cell(
                    "異動履歴",
                    f"{to_wareki(e.changed_on)}　{e.change_reason}（{to_wareki(e.filed_on)}届出）　{e.address}",
                    12,
                ),
            )
    return out


def _entry_rows(req: CertificateRequest, s: Subject) -> _Items:
    """記載事項証明書: the chosen items of one person."""
    r, out = s.record, _Items()
    keep_katagaki = "katagaki" not in req.omit
    values = {
        "name": ("氏名", _name(r)),
        "birth_date": ("生年月日", _birth(r)),
        "sex": ("性別", _sex(r)),
        "address": ("住所", _address(r.address, keep_katagaki)),
        "resident_since": ("住民となった年月日", to_wareki(r.resident_since)),
        "address_since": ("住所を定めた年月日", to_wareki(r.address_since)),
        "previous_address": ("従前の住所", _address(r.previous_address, keep_katagaki)),
    }
    for code in req.items:
        label, value = values[code]
        out.add(code, Cell(label, value, 12, emphasis=code == "name"))
    if "householder_and_relationship" in req.include:
        out.add("householder_and_relationship", Cell("続柄", r.relationship, 12))
    if "honseki" in req.include and not r.foreign:
        out.add("honseki", Cell("本籍", r.honseki or "", 7), Cell("筆頭者", r.family_register_head or "", 5))
    if "resident_code" in req.include:
        out.add("resident_code", Cell("住民票コード", r.resident_code or "", 12))
    if "my_number" in req.include:
        out.add("my_number", Cell("個人番号", r.my_number or "", 12))
    return out


def statement(req: CertificateRequest, whole_household: bool) -> str:
    kind = req.kind
    if kind == "entry_certificate":
        return "上記の事項は、住民票に記載されていることを証明する。"
    if kind == "move_out_certificate":
        return "上記の者は、転出の届出をしたことを証明する。"
    what = "除票" if kind == "removed_record_certificate" else "住民票"
    if req.layout == "household" and whole_household and kind == "residence_certificate":
        return "この写しは、世帯全員の住民票の原本と相違ないことを証明する。"
    return f"この写しは、{what}の原本と相違ないことを証明する。"


def paginate(
    header: Block | None,
    persons: Sequence[list[Row]],
    per_page: int,
    reserve_statement: bool = True,
    subjects: Sequence[str | None] = (),
) -> list[tuple[Block, ...]]:
    """Pack persons onto pages: at most `per_page` a page, the header on each page, and room for the statement
    kept at the bottom of the last page. A person who does not fit on what is left of a page starts a new one;
    one too long for a whole page continues on the next (the continuation is marked 続き)."""
    capacity = ROWS_PER_PAGE - (len(header.rows) if header else 0)
    pages: list[list[Block]] = [[]]
    used = 0
    for index, rows in enumerate(persons):
        subject = subjects[index] if index < len(subjects) else None
        rest, continued = list(rows), False
        while rest:
            page, room = pages[-1], capacity - used
            starts = sum(1 for b in page if not b.continued)
            if (
                page
                and not continued
                and (starts >= per_page or (len(rest) > room and len(rest) <= capacity))
            ):
                pages.append([])
                used = 0
                continue
            if page and room < 3:
                pages.append([])
                used = 0
                continue
            take, rest = rest[:room], rest[room:]
            page.append(Block(tuple(take), continued, subject))
            used += len(take)
            continued = True
            if rest:
                pages.append([])
                used = 0
    if reserve_statement and used > capacity - STATEMENT_ROWS:
        pages.append([])
    return [((header,) if header else ()) + tuple(p) for p in pages]


def layout(
    req: CertificateRequest,
    subjects: Sequence[Subject],
    *,
    whole_household: bool,
    householder: str | None,
    today: date,
    issuance_number: str,
    terminal: str,
    issuer: Issuer,
    verify_url: str,
    copy_no: int = 1,
    printer: str = "",
    overflow: str = "truncate",
) -> CertificateDocument:
    """The pages of one copy of the certificate."""
    kind = req.kind_info
    individual = req.layout == "individual" or req.kind in ("entry_certificate", "move_out_certificate")
    printed: set[str] = set()
    persons: list[list[Row]] = []
    numbers = [s.record.addressee_number for s in subjects]
    for s in subjects:
        items = (
            _entry_rows(req, s)
            if req.kind == "entry_certificate"
            else _person_rows(req, s, householder, individual, today)
        )
        printed |= items.printed
        persons.append(items.rows)
    header = None
    if not individual:
        first = subjects[0].record
        rows: list[Row] = [(Cell("住所", _address(first.address), 12),)]
        if "householder_and_relationship" in req.include:
            rows.append((Cell("世帯主", householder or "", 12),))
        header = Block(tuple(rows))
        printed.add("address")
    attachments = _alias_attachments(req, subjects)
    if individual and req.kind != "entry_certificate":
        # 個人票: one person a certificate page (the address is in the person's own rows).
        last = len(persons) - 1
        page_blocks = [
            blocks
            for i, p in enumerate(persons)
            for blocks in paginate(
                None, [p], 1, reserve_statement=i == last and not attachments, subjects=[numbers[i]]
            )
        ]
    else:
        page_blocks = paginate(
            header, persons, PERSONS_PER_PAGE, reserve_statement=not attachments, subjects=numbers
        )
    if attachments:  # 別紙: after the persons, before the 認証文 (which stays on the last page only)
        page_blocks += paginate(
            None, [rows for _, rows in attachments], PERSONS_PER_PAGE, subjects=[n for n, _ in attachments]
        )
        printed.add(ALIAS_HISTORY)
    total = len(page_blocks)
    pages = tuple(Page(i + 1, total, blocks, last=i + 1 == total) for i, blocks in enumerate(page_blocks))
    return CertificateDocument(
        kind=req.kind,
        title=kind.title,
        issuance_number=issuance_number,
        issued_on=today,
        terminal=terminal,
        pages=pages,
        statement=statement(req, whole_household),
        issuer=issuer,
        verify_url=verify_url,
        official=req.requester.type == "official",
        items=tuple(sorted(printed)),
        my_number_printed=req.shows_my_number and any(s.record.my_number for s in subjects),
        copy_no=copy_no,
        copies=req.copies,
        printer=printer,
        overflow=overflow,
    )


def _alias_attachments(req: CertificateRequest, subjects: Sequence[Subject]) -> list[tuple[str, list[Row]]]:
    """通称の記載及び削除に関する事項 of each foreign resident who has one, unless left out (j1000)."""
    if {ALIAS_HISTORY, "alias_name"} & req.omit or req.kind in ("entry_certificate", "move_out_certificate"):
        return []  # the attachment prints the 通称: leaving the 通称 out leaves it out too
    out = []
    for s in subjects:
        if not (s.record.foreign and s.aliases):
            continue
        rows: list[Row] = [
            (Cell("別紙", "通称の記載及び削除に関する事項", 7), Cell("氏名", _name(s.record), 5)),
        ]
        for a in s.aliases:
            deleted = f"{to_wareki(a.deleted_on)}　{a.deleted_by or ''}" if a.deleted_on else ""
            rows.append(
                (
                    Cell("通称", a.alias, 4),
                    Cell("記載", f"{to_wareki(a.entered_on)}　{a.entered_by}", 4),
                    Cell("削除", deleted, 4),
                )
            )
        out.append((s.record.addressee_number, rows))
    return out


def printed_items(items: Sequence[str]) -> list[str]:
    """Item codes as stored: combined codes ("resident_code+my_number") split apart."""
    return sorted({part for code in items for part in code.split("+")})
