"""The Japanese words the clerk sees for the register's identifiers (docs/glossary.md, read right to left)."""

from __future__ import annotations

from typing import Any

from juki.domain import subject_requests

KINDS = {
    "move-in": "転入届",
    "move-within": "転居届",
    "move-out": "転出届",
    "birth": "出生届",
    "death": "死亡届",
    "household-change": "世帯変更届",
    "ex-officio-entry": "職権記載",
    "ex-officio-correction": "職権修正",
    "ex-officio-removal": "職権消除",
    "ex-officio-restoration": "職権回復",
    "member-order": "記載順位の変更",
    "cancel": "取消し",
}
FILING_KINDS = ("move-in", "move-within", "move-out", "birth", "death", "household-change")
EX_OFFICIO_KINDS = (
    "ex-officio-entry",
    "ex-officio-correction",
    "ex-officio-removal",
    "ex-officio-restoration",
)

ROLE_NAMES = {
    "clerk": "窓口",
    "supervisor": "係長",
    "auditor": "監査",
    "admin": "管理者",
    "cs_operator": "CS操作者",
    "contractor": "委託先",
    "department": "庁内システム",
}

HOUSEHOLD_CHANGE_TYPES = {"householder_change": "世帯主変更", "split": "世帯分離", "merge": "世帯合併"}

RELATIONSHIPS = (
    "世帯主",
    "妻",
    "夫",
    "子",
    "父",
    "母",
    "子の妻",
    "子の夫",
    "子の子",
    "妻の子",
    "夫の子",
    "妻の父",
    "妻の母",
    "兄",
    "姉",
    "弟",
    "妹",
    "妻（未届）",
    "夫（未届）",
    "縁故者",
    "同居人",
)

ARTICLE_30_45 = ("中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者")

# Items of a record and of a filing, in the order a record is read.
FIELDS = {
    "addressee_number": "宛名番号",
    "household_number": "世帯番号",
    "relationship": "続柄",
    "position": "記載順位",
    "family_name": "氏",
    "given_name": "名",
    "family_name_kana": "氏（フリガナ）",
    "given_name_kana": "名（フリガナ）",
    "sex": "性別",
    "birth_date": "生年月日",
    "birth_date_unknown": "生年月日（不詳）",
    "former_surname": "旧氏",
    "former_surname_kana": "旧氏（フリガナ）",
    "address": "住所",
    "katagaki": "方書",
    "postal_code": "郵便番号",
    "resident_since": "住民となった年月日",
    "address_since": "住所を定めた年月日",
    "previous_address": "前住所",
    "_lookup": "転出証明書情報の照会",  # 特例転入's look-up (filing_move_in.html)
    "card_move_in": "特例転入",
    "card_move_out": "特例転出",
    "moveout_certificate_id": "転出証明書情報",
    "honseki": "本籍",
    "family_register_head": "筆頭者",
    "resident_code": "住民票コード",
    "my_number": "個人番号",
    "foreign": "外国人住民の記載事項",
    "nationality": "国籍・地域",
    "article_30_45_category": "第30条の45規定区分",
    "status_of_residence": "在留資格",
    "stay_expires_on": "在留期間満了日",
    "residence_card_number": "在留カード等番号",
    "alias_name": "通称",
    "removal": "消除",
    "move_out": "転出",
    "status": "状態",
    "filed_on": "届出日",
    "changed_on": "異動日",
    "planned_on": "転出予定日",
    "died_on": "死亡日",
    "destination": "転出先",
    "municipality_code": "市区町村コード",
    "country": "国名",
    "persons": "異動者",
    "person": "出生子",
    "addressee_numbers": "異動者",
    "new_householder": "新しい世帯主",
    "householder": "新しい世帯の世帯主",
    "join_household_number": "加入する世帯",
    "into_household_number": "合併先の世帯",
    "new_relationships": "新しい続柄",
    "household": "世帯",
    "reason": "理由",
    "corrections": "修正内容",
    "type": "変更の種類",
    "password": "パスワード",
    "name": "氏名",
    "kind": "届出の種類",
    "operations": "抑止する業務",
    "level": "抑止の程度",
}

# What a version's diff shows (the rest — counters, enrolment flags — is not the counter's business).
DIFF_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "former_surname",
    "sex",
    "birth_date",
    "relationship",
    "household_number",
    "address",
    "address_since",
    "resident_since",
    "honseki",
    "family_register_head",
    "resident_code",
    "status",
    "removal",
    "move_out",
    "foreign",
)


# 支援措置 and the other holds (抑止, j410): what a measure is, which operations it holds, and how.
MEASURE_KINDS = {"support": "支援措置", "hold": "その他の抑止"}
HOLD_OPERATIONS = {"filing": "異動入力", "certificate": "証明書発行", "view": "照会"}
HOLD_LEVELS = {"error": "エラー", "alert": "アラート"}
HOLD_LEVEL_HELP = {"error": "止める", "alert": "警告して続ける"}
_SUPPORT_DEFAULT = frozenset({("certificate", "error"), ("view", "error")})  # what 「支援措置」 itself says
HOLD_EFFECTS = {
    ("filing", "error"): "異動入力（届出・職権処理・決裁）は受け付けられません。",
    ("filing", "alert"): "異動入力はできますが、警告が表示され係長に通知されます。",
    ("certificate", "error"): "証明書は本人・同一世帯の者にだけ交付できます。",
    ("certificate", "alert"): "証明書を交付すると係長に通知されます。",
    ("view", "error"): "照会は支援措置に関する事務の係長に限られます。",
    ("view", "alert"): "照会のたびに係長に通知されます。",
}


def hold_label(operation: str, level: str) -> str:
    """filing, error → 異動入力の抑止（エラー）."""
    return f"{HOLD_OPERATIONS.get(operation, operation)}の抑止（{HOLD_LEVELS.get(level, level)}）"


def protection_badges(flag: str | None, holds: list[dict[str, Any]] | None) -> list[str]:
    """What a person's flag says (services/ui_queries.protection_flags): 「支援措置」 for a 支援措置, and each hold it
    does not already say — 「異動入力の抑止（エラー）」 — marked （一時解除中） while temporarily released."""
    if holds is None:  # only the 支援措置 flag is known
        return [f"支援措置{'（一時解除中）' if flag == 'released' else ''}"] if flag else []
    badges: list[str] = []
    support = [h for h in holds if h["kind"] == "support"]
    if support:
        badges.append(f"支援措置{'（一時解除中）' if all(h['released'] for h in support) else ''}")
    for h in holds:
        if h["kind"] == "support" and (h["operation"], h["level"]) in _SUPPORT_DEFAULT:
            continue
        text = hold_label(h["operation"], h["level"]) + ("（一時解除中）" if h["released"] else "")
        if text not in badges:
            badges.append(text)
    return badges


def under_support(flag: str | None, holds: list[dict[str, Any]] | None) -> bool:
    """Whether the flag is a 支援措置's (another hold that hides the record is not one)."""
    return bool(flag) if holds is None else any(h["kind"] == "support" for h in holds)


def hold_effects(holds: list[dict[str, Any]] | None) -> list[str]:
    """What the holds in force on a person mean for the counter, one sentence each: those beyond what 「支援措置」
    says (its banner tells), released ones left out."""
    seen = {
        (h["operation"], h["level"])
        for h in holds or []
        if not h["released"]
        and not (h["kind"] == "support" and (h["operation"], h["level"]) in _SUPPORT_DEFAULT)
    }
    seen -= {(op, "alert") for op, level in set(seen) if level == "error"}  # the stronger one says it
    return [text for key, text in HOLD_EFFECTS.items() if key in seen]


def sex(value: str | None) -> str:
    return {"male": "男", "female": "女"}.get(value or "", value or "")


def status(value: str | None) -> str:
    return {"active": "現存", "removed": "除票"}.get(value or "", value or "")


def kind(value: str | None) -> str:
    return KINDS.get(value or "", value or "")


def field(path: str | None) -> str:
    """`persons.1.birth_date` → 異動者2 生年月日."""
    if not path:
        return ""
    words: list[str] = []
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0 and parts[i - 1] in ("persons", "addressee_numbers"):
            words[-1] += str(int(part) + 1)
        elif part.isdigit():
            words.append(part)
        else:
            words.append(FIELDS.get(part, part))
    return " ".join(words)


def address_text(value: Any) -> str:
    """An address item (a mapping, or text) as one line, with the 方書 and, abroad, the country."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    text = str(value.get("address") or "")
    if value.get("katagaki"):
        text += "　" + str(value["katagaki"])
    if value.get("country") and value["country"] not in text:
        text = f"{value['country']} {text}".strip()
    return text


# 本人確認書類 and the document showing an agent's authority: the API takes codes (開示等の請求: `driver_license`)
# and, for certificates, the words typed; the clerk reads words either way.
IDENTITY_DOCUMENTS = subject_requests.IDENTITY_DOCUMENTS
AUTHORITY_DOCUMENTS = subject_requests.AUTHORITY_DOCUMENTS


def identity_document(value: str | None) -> str:
    """driver_license → 運転免許証; words already written in Japanese stay as they are."""
    return IDENTITY_DOCUMENTS.get(value or "", value or "")


def authority_document(value: str | None) -> str:
    """power_of_attorney → 委任状; words already written in Japanese stay as they are."""
    return AUTHORITY_DOCUMENTS.get(value or "", value or "")
