"""The counter's certificate form (web/ui/certificate_pages.py): its choices in the clerk's words, the form's values
turned into the body of `POST /api/v1/certificates` and put through the API's request model (`checked`), and an
error placed beside the input it belongs to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from juki.domain import certificates as rules
from juki.domain.errors import DomainError, InvalidField
from juki.web import schemas
from juki.web.ui.forms import whole_number

# --- the words of the form ---------------------------------------------------------------------------------------

KIND_CHOICES = [(code, k.name) for code, k in rules.KINDS.items()]
KIND_HELP = {
    "residence_certificate": "現存の世帯員",
    "entry_certificate": "現存の世帯員・証明する事項を選択",
    "removed_record_certificate": "消除された者（除票）",
    "move_out_certificate": "転出届をした者・手数料なし",
}
LAYOUTS = [("household", "世帯（世帯連記式）"), ("individual", "個人票（1人1枚）")]
REQUESTER_CHOICES = [
    ("self", "本人"),
    ("household_member", "同一世帯の者"),
    ("agent", "代理人（委任状）"),
    ("third_party", "第三者（第12条の3）"),
    ("official", "公用（第12条の2）"),
]
OWN = (
    "self",
    "household_member",
    "agent",
)  # a resident named by 宛名番号: the person, or the agent's principal
WITH_REASON = ("third_party", "official")
INCLUDE_CHOICES = [
    ("householder_and_relationship", "世帯主・続柄"),
    ("honseki", "本籍・筆頭者"),
    ("resident_code", "住民票コード"),
    ("my_number", "個人番号"),
    ("history", "異動履歴"),
]
FOREIGN_CHOICES = [
    *rules.FOREIGN_ITEMS.items(),
    (rules.ALIAS_HISTORY, "通称の記載及び削除に関する事項（別紙）"),
]
ENTRY_CHOICES = [
    ("name", "氏名"),
    ("birth_date", "生年月日"),
    ("sex", "性別"),
    ("address", "住所"),
    ("resident_since", "住民となった年月日"),
    ("address_since", "住所を定めた年月日"),
    ("previous_address", "従前の住所"),
]
IDENTITY_DOCUMENTS = (
    "個人番号カード",
    "運転免許証",
    "旅券",
    "在留カード",
    "特別永住者証明書",
    "健康保険の資格確認書等（2点）",
    "その他の官公署発行の書類",
)
AUTHORITY_DOCUMENTS = ("委任状", "戸籍謄本等（親権者）", "登記事項証明書（成年後見人）")
# What the issuance records say was printed (rules.printed_items), in the clerk's words.
ITEM_NAMES = {
    "name": "氏名",
    "birth_date": "生年月日",
    "sex": "性別",
    "former_surname": "旧氏",
    "alias_name": "通称",
    "householder_and_relationship": "世帯主・続柄",
    "address": "住所",
    "resident_since": "住民となった年月日",
    "address_since": "住所を定めた年月日",
    "previous_address": "従前の住所",
    "honseki": "本籍・筆頭者",
    "resident_code": "住民票コード",
    "my_number": "個人番号",
    **rules.FOREIGN_ITEMS,
    "removal": "消除・転出の事項",
    "history": "異動履歴",
    rules.ALIAS_HISTORY: "通称の記載及び削除に関する事項",
}
# On a 写し (not a 記載事項証明書) one printed row carries more than its code says.
ROW_NAMES = {
    "name": "氏名・生年月日・性別",
    "resident_since": "住民となった年月日・住所を定めた年月日",
    "previous_address": "届出日・従前の住所",
}
CHANNELS = {"counter": "窓口", "kiosk": "コンビニ交付"}


def item_names(codes: Sequence[str], kind: str) -> list[str]:
    """The printed items (as the issuance record keeps them) in the clerk's words and the page's order."""
    order = list(ITEM_NAMES)
    names = ITEM_NAMES if kind == "entry_certificate" else {**ITEM_NAMES, **ROW_NAMES}
    ranked = sorted(set(codes), key=lambda c: order.index(c) if c in order else len(order))
    return [names.get(code, code) for code in ranked]


# The input (error slot) each field an error names belongs to. `free_text` names the key alone (`name`).
SLOTS = {
    "kind": "kind",
    "layout": "layout",
    "household_number": "addressee_numbers",
    "addressee_numbers": "addressee_numbers",
    "include.my_number": "include.my_number",
    "omit": "omit",
    "items": "items",
    "copies": "copies",
    "purpose": "purpose",
    "requester": "requester.type",
    "requester.type": "requester.type",
    "name": "requester.name",
    "requester.name": "requester.name",
    "requester.addressee_number": "requester.addressee_number",
    "reason": "requester.reason",
    "requester.reason": "requester.reason",
    "identity_check": "identity_check.document",
    "document": "identity_check.document",
    "identity_check.document": "identity_check.document",
    "authority_document": "identity_check.authority_document",
    "identity_check.authority_document": "identity_check.authority_document",
}
SLOT_NAMES = {
    "kind": "証明書の種類",
    "layout": "様式",
    "addressee_numbers": "記載する人",
    "include.resident_code": "住民票コード",
    "include.my_number": "個人番号",
    "items": "証明する事項",
    "omit": "外国人住民の記載事項",
    "copies": "通数",
    "requester.type": "請求者",
    "requester.addressee_number": "請求者（本人）",
    "requester.name": "請求者の氏名",
    "requester.reason": "請求事由",
    "identity_check.document": "本人確認書類",
    "identity_check.authority_document": "委任状等",
    "purpose": "使用目的",
}
ALL_SLOTS = tuple(SLOT_NAMES)  # in the order of the form: the first with an error takes the focus
TEXT_KEYS = ("requester.name", "requester.reason", "purpose", "copies")


def text_of(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return value.strip() if isinstance(value, str) else ""


def _typed(values: Mapping[str, Any], key: str) -> str:
    """Free text as typed: the ideographic space a Japanese input method puts between 氏 and 名 is a space (the
    service's `free_text` refuses it as unprintable; the name check ignores spaces of either width)."""
    return text_of(values, key).replace("\u3000", " ")


def persons_of(values: Mapping[str, Any]) -> list[str]:
    picked = values.get("addressee_numbers") or []
    if isinstance(picked, str):
        picked = [picked]
    return [n.strip() for n in picked if isinstance(n, str) and n.strip()][: rules.MAX_PERSONS + 1]


def _copies(text: str) -> int | str:
    number = whole_number(text, 3)  # full-width digits as typed
    return number if number is not None else text.strip()


def request_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values → the body of `POST /api/v1/certificates` (what `certificates.issue` takes)."""
    kind = text_of(values, "kind")
    body: dict[str, Any] = {
        "kind": kind,
        "layout": text_of(values, "layout") or "household",
        "addressee_numbers": persons_of(values),
        "include": {code: bool(text_of(values, f"include.{code}")) for code, _ in INCLUDE_CHOICES},
        "omit": [code for code, _ in FOREIGN_CHOICES if text_of(values, f"omit.{code}")],
        "copies": _copies(text_of(values, "copies") or "1"),
        "purpose": _typed(values, "purpose"),
    }
    if kind == "entry_certificate":  # only it certifies chosen items and may leave the 方書 out (j1030)
        body["items"] = [code for code, _ in ENTRY_CHOICES if text_of(values, f"items.{code}")]
        if text_of(values, "omit.katagaki"):
            body["omit"].append("katagaki")
    kind_of = text_of(values, "requester.type")
    requester: dict[str, Any] = {"type": kind_of, "name": _typed(values, "requester.name")}
    if kind_of in OWN and text_of(values, "requester.addressee_number"):
        requester["addressee_number"] = text_of(values, "requester.addressee_number")
    if kind_of in WITH_REASON:
        requester["reason"] = _typed(values, "requester.reason")
    body["requester"] = requester
    identity = {}
    if text_of(values, "identity_check.document"):
        identity["document"] = text_of(values, "identity_check.document")
    if kind_of == "agent" and text_of(values, "identity_check.authority_document"):
        identity["authority_document"] = text_of(values, "identity_check.authority_document")
    if identity:
        body["identity_check"] = identity
    return body


def checked(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` through the API's request model (`schemas.CertificateBody`), as `POST /api/v1/certificates` puts it:
    the body the API hands to `certificates.issue`, or the first error as the API words it (code, field, message);
    the request's rules then check its values only."""
    typed, problems = schemas.check(schemas.CertificateBody, body)
    if typed is None:
        raise InvalidField(problems[0]["message"], problems[0]["field"])
    return typed.model_dump(exclude_none=True)


def slot_of(exc: DomainError, values: Mapping[str, Any]) -> str:
    """The input an error belongs beside. 第12条's refusal of the numbers names `include`: it goes beside each
    number asked for. A refusal that names no field is about the persons (支援措置, a removed record)."""
    name = exc.field or ""
    if name == "include":
        asked = [f"include.{c}" for c in ("resident_code", "my_number") if text_of(values, f"include.{c}")]
        return asked[0] if asked else "include.resident_code"
    if name in SLOTS:
        return SLOTS[name]
    if name.startswith("include."):
        return name
    if name.startswith(("omit", "items", "addressee_numbers")):
        return name.split(".")[0]
    return "addressee_numbers"


def errors_of(exc: DomainError, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    slot = slot_of(exc, values)
    entry = {**exc.to_dict(), "field": slot}
    errors = {slot: entry}
    if exc.field == "include" and slot == "include.resident_code" and text_of(values, "include.my_number"):
        errors["include.my_number"] = entry  # both numbers asked for: the refusal stands beside each
    return errors
