"""自己情報 (やりとり履歴): what a resident is shown of the uses of their data, and what is withheld — pure.

A resident signed in with their My Number card sees every provision (提供, through the 中間サーバー), every transfer
(移転, 庁内連携) and every staff use of their record (the operation log), each with when, to whom (a department,
never a staff member), for which 事務 and on which legal basis, and what went — as マイナポータル's やりとり履歴 and
Estonia's data tracker show them.

Some uses are withheld, **by rule** (`withholding`), never because someone remembered to hide them:

- `protection` — anything of a 支援措置 case: staff work for the 支援措置に関する事務, the measures' own log entries,
  a delivery to a department that carried only a 支援措置's change. Disclosing it would tell whoever reads the page
  that a case exists and whom it shields (個人情報保護法78条1項2号: another individual's information; 7号: the
  事務's proper conduct), so even the existence of such entries is not told (81条, 存否応答拒否). Withheld until a
  supervisor releases it.
- `investigation` — uses for a criminal investigation (捜査関係事項照会, 刑事訴訟法197条2項; a 犯則事件の調査):
  78条1項7号ロ (犯罪の予防・捜査に支障を及ぼすおそれ). Not told either (81条): saying "something is withheld"
  would alert a suspect. Shown after `INVESTIGATION_DAYS` unless extended.
- `inspection` — uses for a tax or benefits inspection (質問検査, 資力の調査): 78条1項7号ハ (正確な事実の把握を困難に
  するおそれ). The resident is told that such entries exist and from when they will be shown (like Estonia's
  `hiddenUntil`). Shown after `INSPECTION_DAYS` unless extended.

Neither applies to a 庁内連携 delivery: it carries the changes of everyone whose record changed, aimed at no one.
- `withholding` — a supervisor's own work on withheld entries (listing, releasing, extending): it would tell what
  is withheld. Not told; until released.

A supervisor releases an entry early or extends its date (`Decision`); the latest decision about an entry is the
one in force (`in_force`). An entry withheld is absent from the history until its date.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from juki.domain.dates import JST
from juki.domain.errors import InvalidDate, InvalidField

KINDS = ("provision", "transfer", "view")
PROTECTION_PROCEDURE = "支援措置に関する事務"  # policy/roles.py PROCEDURES["protection"].name
INVESTIGATION_PROCEDURE = (
    "捜査機関等からの照会への回答に関する事務"  # PROCEDURES["investigation_inquiry"].name
)
# The actions of a 支援措置 case and of the withholding itself (their log entries name the person).
PROTECTION_ACTIONS = ("protection:", "alert:")
WITHHOLDING_ACTIONS = ("my_usage:withheld", "my_usage:release", "my_usage:extend")
# Words of a provision's 事務 or legal basis that mark an investigation or an inspection (NFKC, spaces removed).
INVESTIGATION_MARKERS = ("犯則事件", "犯罪の捜査", "捜査関係事項", "刑事訴訟法第197条")
INSPECTION_MARKERS = ("質問検査", "資力の調査", "資産等の調査", "生活保護法第29条", "国税徴収法第141条")
INVESTIGATION_DAYS = 365
INSPECTION_DAYS = 180
MAX_WITHHOLD_DAYS = 5 * 366  # an extension runs at most five years ahead (then it is decided again)

# What a resident reads as an entry's items: Japanese names, for every kind alike — the 中間サーバー's records already
# name theirs so (世帯主該当, 世帯主氏名 …), and a transfer's fields and a staff use are named here in the same way.
RECORD = "住民票の記載事項"  # a staff use touches the record as a whole
MY_NUMBER = "個人番号"  # … and, when the log says it was shown, the 個人番号 too
# The record's fields a 庁内連携 delivery may carry (transfer/items.ARTICLE_7), in the order of 住基法7条's items.
ITEM_NAMES = {
    "family_name": "氏",
    "given_name": "名",
    "family_name_kana": "氏（フリガナ）",
    "given_name_kana": "名（フリガナ）",
    "birth_date": "生年月日",
    "birth_date_unknown": "生年月日が不詳である旨",
    "birth_date_unknown_parts": "生年月日の不詳の部分",
    "sex": "性別",
    "household_number": "世帯番号",
    "relationship": "世帯主との続柄",
    "position": "世帯の中の記載順位",
    "honseki": "本籍",
    "family_register_head": "筆頭者",
    "resident_since": "住民となった年月日",
    "address": "住所",
    "address_since": "住所を定めた年月日",
    "filed_on": "届出の年月日",
    "previous_address": "従前の住所",
    "my_number": MY_NUMBER,
    "voter_registered": "選挙人名簿への登録",
    "voting_district": "投票区",
    "national_health_insurance": "国民健康保険の資格",
    "late_elderly_insurance": "後期高齢者医療の資格",
    "long_term_care_insurance": "介護保険の資格",
    "national_pension": "国民年金の資格",
    "child_allowance": "児童手当の受給資格",
    "resident_code": "住民票コード",
    "former_surname": "旧氏",
    "former_surname_kana": "旧氏（フリガナ）",
    "removal": "消除の事由と年月日",
    "move_out": "転出の予定（転出先・年月日）",
    "foreign": "外国人住民の記載事項（国籍・地域、在留資格等）",
}
_ITEM_ORDER = {name: i for i, name in enumerate(ITEM_NAMES)}


@dataclass(frozen=True)
class Reason:
    code: str
    label: str  # what the supervisor reads (Japanese)
    legal_basis: str  # the exemption cited
    told: bool  # whether the resident may be told that entries are withheld (81条: not when that itself discloses)
    days: int | None  # how long from the use by default (None: until a supervisor releases it)


REASONS = {
    r.code: r
    for r in (
        Reason(
            "protection",
            "支援措置に関する事務",
            "個人情報の保護に関する法律第78条第1項第2号・第7号、第81条",
            False,
            None,
        ),
        Reason(
            "investigation",
            "犯罪の捜査等",
            "個人情報の保護に関する法律第78条第1項第7号ロ、第81条",
            False,
            INVESTIGATION_DAYS,
        ),
        Reason(
            "inspection",
            "調査・検査（租税、給付）",
            "個人情報の保護に関する法律第78条第1項第7号ハ",
            True,
            INSPECTION_DAYS,
        ),
        Reason(
            "withholding",
            "不開示の管理",
            "個人情報の保護に関する法律第81条",
            False,
            None,
        ),
    )
}


@dataclass(frozen=True)
class Use:
    """One use of the person's data, as the resident would see it, with what the rules read (never shown)."""

    key: str  # stable: "log-<seq>" for the operation log's entries, "prov-<hash>" for a provision
    at: datetime  # UTC
    kind: str  # provision / transfer / view
    counterpart: str  # a department or body, never a staff member
    procedure: str
    legal_basis: str
    items: tuple[str, ...]
    action: str = ""  # the operation log's action (empty for a provision)
    protection_only: bool = field(default=False)  # a delivery that carried only a 支援措置's change

    def shown(self) -> dict[str, object]:
        """The entry of `GET /api/v1/my/usage` (API.md)."""
        return {
            "at": self.at.isoformat(),
            "kind": self.kind,
            "counterpart": self.counterpart,
            "procedure": self.procedure,
            "legal_basis": self.legal_basis,
            "items": list(self.items),
        }


@dataclass(frozen=True)
class Withholding:
    reason: Reason
    until: date | None  # the day (Japan) from which it is shown; None: until a supervisor releases it
    decided: bool = False  # a supervisor's decision set it (not the rule alone)


@dataclass(frozen=True)
class Decision:
    """A supervisor's release (`until` = the day of the decision) or extension of a withheld entry."""

    key: str
    action: str  # release / extend
    until: date | None
    decided_at: datetime


def item_names(fields: Iterable[str]) -> tuple[str, ...]:
    """A delivery's fields as the resident reads them, in the record's order. A field without a name here keeps its
    own (the unit tests hold every item of transfer/items to a name, so this is for what a future field adds)."""
    known = sorted((f for f in set(fields) if f in ITEM_NAMES), key=_ITEM_ORDER.__getitem__)
    return tuple(ITEM_NAMES[f] for f in known) + tuple(sorted(set(fields) - set(ITEM_NAMES)))


def _flat(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").replace("　", "")


def _mentions(texts: Iterable[str], markers: Sequence[str]) -> bool:
    flat = [_flat(t) for t in texts]
    return any(_flat(m) in t for m in markers for t in flat)


def reason_for(use: Use) -> Reason | None:
    """Which rule withholds this use, if any (the order matters: a 支援措置 case is never told)."""
    if use.action.startswith(WITHHOLDING_ACTIONS):
        return REASONS["withholding"]
    if (
        use.protection_only
        or use.action.startswith(PROTECTION_ACTIONS)
        or use.procedure == PROTECTION_PROCEDURE
    ):
        return REASONS["protection"]
    if use.kind == "transfer":
        # A 庁内連携 delivery carries the changes of everyone whose record changed, for the department's standing
        # 事務: it is aimed at no one, so it tells nothing of an investigation or an inspection — even where the
        # 事務's name covers one (the 税務 row's 賦課徴収又は…調査(犯則事件の調査を含む。)).
        return None
    texts = (use.procedure, use.legal_basis)
    if use.procedure == INVESTIGATION_PROCEDURE or _mentions(texts, INVESTIGATION_MARKERS):
        return REASONS["investigation"]
    if _mentions(texts, INSPECTION_MARKERS):
        return REASONS["inspection"]
    return None


def local_day(at: datetime) -> date:
    return at.astimezone(JST).date()


def withholding(use: Use) -> Withholding | None:
    """The rule's withholding of a use: its reason and the day it may be shown (None: not withheld)."""
    reason = reason_for(use)
    if reason is None:
        return None
    until = None if reason.days is None else local_day(use.at) + timedelta(days=reason.days)
    return Withholding(reason, until)


def in_force(rule: Withholding | None, decisions: Iterable[Decision]) -> Withholding | None:
    """The rule's withholding with the latest supervisor's decision about the entry applied."""
    if rule is None:
        return None
    latest = max(decisions, key=lambda d: d.decided_at, default=None)
    if latest is None:
        return rule
    return Withholding(rule.reason, latest.until, decided=True)


def is_shown(held: Withholding | None, today: date) -> bool:
    return held is None or (held.until is not None and today >= held.until)


def check_extension(held: Withholding | None, until: date, today: date) -> date:
    """A supervisor's new date for a withheld entry: after today, within MAX_WITHHOLD_DAYS. An entry held until it is
    released (a 支援措置 case's) has no date to move: a date would show it by itself that day, which only a release,
    decided then, may do."""
    if held is None:
        raise InvalidField("規則により非表示となる記録ではありません", "entry")
    if held.until is None:
        raise InvalidField("解除するまで非表示の記録です。期限は設けられません", "entry")
    if until <= today:
        raise InvalidDate("非表示の期限は明日以降の日付にしてください", "until")
    if until > today + timedelta(days=MAX_WITHHOLD_DAYS):
        raise InvalidDate("非表示の期限は5年以内にしてください", "until")
    return until


def provision_key(at: datetime, requester: str, procedure: str, legal_basis: str) -> str:
    """A provision's stable key (the 中間サーバー's records have no id of ours)."""
    text = "\x1f".join([at.isoformat(), requester, procedure, legal_basis])
    return "prov-" + hashlib.sha256(text.encode()).hexdigest()[:20]


def notices(withheld: Iterable[Withholding]) -> list[dict[str, object]]:
    """What the resident is told of withheld entries: only reasons the law lets the city tell, grouped by reason
    and date (how many, until when); nothing at all of the others."""
    counts: dict[tuple[str, date | None], int] = {}
    for held in withheld:
        if held.reason.told:
            key = (held.reason.code, held.until)
            counts[key] = counts.get(key, 0) + 1
    return [
        {
            "reason": REASONS[code].label,
            "legal_basis": REASONS[code].legal_basis,
            "count": n,
            "until": until.isoformat() if until else None,
        }
        for (code, until), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or date.max))
    ]
