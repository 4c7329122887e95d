"""The Japanese words the clerk sees for the register's identifiers (GLOSSARY.md, read right to left)."""

from __future__ import annotations

from typing import Any

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
