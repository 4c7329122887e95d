"""個人番号カード at the counter: its 交付申請, the states J-LIS reports, the 交付 and 本人確認 with the card — the
rules, pure.

Sources: 番号法17条 (the card is issued by the 市町村長 to the resident who applies, after checking their identity;
the resident returns a card that is no longer valid), 個人番号カード省令 (申請 through the 市町村長 or to J-LIS
directly, J-LIS makes the card, 交付 in person at the city with an identity check, the PINs set by the holder;
J-LIS is delegated the making and the 交付通知書 work by its 35条), 標準仕様書 j1110 (the card's status, and whether a
person holds one) and j1160 (the 利用者証明用電子証明書's serial).

- **An application** (`applied`, recorded at the counter; or `received` straight away, an online or mailed one J-LIS
  took in) moves along as J-LIS reports it: 申請受付 (`received`) → 作成中 (`in_production`) → 市区町村到着
  (`arrived`: the card is at the city, its user certificate issued — 交付前設定). The city then sends the 交付通知書
  (`notice_sent`) and hands the card over at the counter (`issued`, 交付済). Before that, either side may end it:
  廃止 (`revoked`: withdrawn, not collected in time, the applicant moved away or died, J-LIS could not make it).
- **J-LIS's reports arrive at least once and maybe late** (`jlis_changes`): a report of a state the application
  has already reached or passed is answered and changes nothing; a report can only move an application forward.
- **After 交付** the card's own state — 一時停止 (reported lost), its lifting, 廃止 — is the card registry's
  (`kiosk_cards`, domain/kiosk.py `check_state_change`), the one source of a card's state: the application stays
  `issued`.
- **The identity check at 交付** (`check_identity`): the applicant shows the 交付通知書 and one photo document of
  list A (運転免許証, 旅券, 在留カード …) or two of list B (健康保険の資格確認書等, 年金手帳 …); without the 交付通知書
  (lost) two documents, one of them of list A. This is the 事務処理要領's usual rule as cities apply it; a city
  whose own rule is stricter sets it here. Only the kinds are kept, never a document's number.
- **The PINs** (署名用, 利用者証明用, 住民基本台帳用, 券面事項入力補助用) are set by the holder on the card's chip at the
  counter. The city records that it was done and keeps nothing of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from juki.domain.errors import (
    CardApplicationState,
    CardExpired,
    CardHolderMismatch,
    CardRevoked,
    CardSuspended,
    IdentityCheckInsufficient,
    InvalidDate,
    InvalidField,
)

KINDS = {"new": "新規", "reissue": "再交付", "renewal": "更新"}
CHANNELS = {"counter": "窓口", "online": "オンライン", "mail": "郵送"}

APPLIED = "applied"
RECEIVED = "received"
IN_PRODUCTION = "in_production"
ARRIVED = "arrived"
NOTICE_SENT = "notice_sent"
ISSUED = "issued"
REVOKED = "revoked"
STATE_NAMES = {
    APPLIED: "申請（J-LISの受付待ち）",
    RECEIVED: "申請受付",
    IN_PRODUCTION: "作成中",
    ARRIVED: "市区町村到着",
    NOTICE_SENT: "交付通知書発送",
    ISSUED: "交付済",
    REVOKED: "廃止",
}
JLIS_STATES = (RECEIVED, IN_PRODUCTION, ARRIVED, REVOKED)  # what J-LIS reports
FINAL = frozenset({ISSUED, REVOKED})
OPEN = tuple(s for s in STATE_NAMES if s not in FINAL)
HANDOVER_FROM = frozenset({ARRIVED, NOTICE_SENT})  # the card is at the city
_ORDER = {APPLIED: 0, RECEIVED: 1, IN_PRODUCTION: 2, ARRIVED: 3, NOTICE_SENT: 4, ISSUED: 5}

# 廃止 of an application (not of a card): why, as a code (the operation log keeps the code, never free text).
REVOKE_REASONS = {
    "withdrawn": "申請の取下げ",
    "not_collected": "交付期限の経過",
    "moved_out": "転出",
    "died": "死亡",
    "jlis": "J-LISによる廃止（作成不能等）",
    "other": "その他",
}
COLLECT_WITHIN = timedelta(
    days=90
)  # 交付期限 printed on the 交付通知書: about three months, as cities set it

# 本人確認書類 at 交付 (kinds only; the same codes as subject requests where the document is the same).
LIST_A = {
    "driver_license": "運転免許証",
    "driving_record_certificate": "運転経歴証明書",
    "passport": "旅券",
    "residence_card": "在留カード",
    "special_permanent_resident_certificate": "特別永住者証明書",
    "disability_handbook": "身体障害者手帳",
    "mental_health_handbook": "精神障害者保健福祉手帳",
    "rehabilitation_handbook": "療育手帳",
    "basic_resident_card": "住民基本台帳カード（写真付き）",
    "my_number_card": "個人番号カード（更新・再交付前のもの）",
}
LIST_B = {
    "health_insurance": "健康保険の資格確認書等",
    "pension_book": "年金手帳・基礎年金番号通知書",
    "medical_certificate": "医療受給者証",
    "student_id": "学生証（写真付き）",
    "employee_id": "社員証（写真付き）",
    "bank_book": "預金通帳",
}
DOCUMENTS = {**LIST_A, **LIST_B}
APPLICATION_ID = re.compile(r"C\d{8}-\d{6}")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidField(f"kind は {' / '.join(KINDS)} のいずれかです", "kind")
    return kind


def check_application_id(application_id: str) -> str:
    """`C` + the day it was recorded + a number (the answers name it; a malformed one is nobody's)."""
    text = application_id.strip().upper()
    if not APPLICATION_ID.fullmatch(text):
        raise InvalidField("申請番号は C + 8桁の日付 + - + 6桁の番号です", "application_id")
    return text


def check_applied_on(applied_on: date, today: date) -> date:
    if applied_on > today:
        raise InvalidDate("申請日が未来の日付です", "applied_on")
    return applied_on


def jlis_changes(current: str, reported: str) -> bool:
    """Whether J-LIS's report of `reported` moves an application in `current` (False: already there or past it — a
    report delivered again or overtaken, answered and not written). A report that cannot be (a state J-LIS does not
    report, anything but 廃止 after 廃止, 廃止 of a card handed over) is refused."""
    if reported not in JLIS_STATES:
        raise InvalidField(f"J-LIS が報告する状態は {' / '.join(JLIS_STATES)} のいずれかです", "state")
    if current == REVOKED:
        if reported == REVOKED:
            return False
        raise CardApplicationState("廃止された申請です")
    if reported == REVOKED:
        if current == ISSUED:  # a card handed over is revoked in the card registry (and on J-LIS's CRL)
            raise CardApplicationState("交付済みのカードの廃止はカードの状態として記録されます")
        return True
    return _ORDER[reported] > _ORDER[current]


def check_counter_step(current: str, new: str) -> str:
    """What the counter may do with an application in `current`: send the 交付通知書 once the card is at the city,
    hand the card over then, or end an application that is still open."""
    if new == NOTICE_SENT and current == ARRIVED:
        return new
    if new == ISSUED and current in HANDOVER_FROM:
        return new
    if new == REVOKED and current not in FINAL:
        return new
    messages = {
        NOTICE_SENT: "カードが市区町村に到着していないため、交付通知書は発行できません",
        ISSUED: "カードが市区町村に到着していないか、すでに交付・廃止された申請です",
        REVOKED: "交付済みまたは廃止済みの申請は廃止できません",
    }
    raise CardApplicationState(messages.get(new, "この操作はできません"))


def check_revoke_reason(reason: str) -> str:
    if reason not in REVOKE_REASONS:
        raise InvalidField(f"reason は {' / '.join(REVOKE_REASONS)} のいずれかです", "reason")
    return reason


@dataclass(frozen=True)
class IdentityCheck:
    """What the counter checked at 交付 (kinds only)."""

    notice_presented: bool
    documents: tuple[str, ...]


def check_identity(notice_presented: bool, documents: Iterable[str]) -> IdentityCheck:
    """The applicant's identity at 交付 (module docstring): with the 交付通知書, one of list A or two of list B;
    without it, two documents, one of list A."""
    kinds = tuple(dict.fromkeys(documents))
    unknown = [k for k in kinds if k not in DOCUMENTS]
    if unknown:
        raise InvalidField("本人確認書類の種類が正しくありません", "identity_documents")
    a = sum(1 for k in kinds if k in LIST_A)
    b = len(kinds) - a
    enough = (a >= 1 or b >= 2) if notice_presented else (a >= 1 and a + b >= 2)
    if not enough:
        raise IdentityCheckInsufficient(
            "本人確認書類が足りません（交付通知書があればA欄1点またはB欄2点、ないときはA欄1点を含む2点）"
        )
    return IdentityCheck(notice_presented, kinds)


def collect_by(arrived_on: date) -> date:
    """交付期限 printed on the 交付通知書."""
    return arrived_on + COLLECT_WITHIN


# --- 本人確認 with the card (seed ⑩) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresentedCard:
    """A card shown at the counter, as the registry knows it: its holder, its state in the city's registry, whether
    J-LIS revoked its certificate (the imported CRL), and the certificate's validity."""

    addressee_number: str
    state: str  # active / suspended / revoked (kiosk_cards)
    revoked_by_jlis: bool
    not_before: datetime
    not_after: datetime


def check_presented(card: PresentedCard, at: datetime, working_on: str | None) -> None:
    """Refuse a card that does not prove who is at the counter: revoked (by the city or J-LIS), suspended, out of its
    validity, or another person's than the record the clerk is working on. A PIN lock does not matter here (the
    counter reads the certificate, the chip signs nothing)."""
    if card.revoked_by_jlis or card.state == "revoked":
        raise CardRevoked()
    if card.state == "suspended":
        raise CardSuspended()
    if not card.not_before <= at < card.not_after:
        raise CardExpired()
    if working_on is not None and working_on != card.addressee_number:
        raise CardHolderMismatch()
