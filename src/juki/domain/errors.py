"""Domain errors: each names the rule it guards and carries a stable code (shared/spec/API.md).

The web layer maps an error to HTTP with `status` and `to_dict()` in one place; the domain never
knows about HTTP beyond that number.
"""

from __future__ import annotations

# Messages end up in logs and on screens: a My Number in any spelling is masked even if a caller slipped one in
# by mistake (domain/redaction.py, the one masking every log and message goes through).
from juki.domain.redaction import redact as redact


class DomainError(Exception):
    code: str = "invalid_field"
    status: int = 422
    # A subclass that names one rule says it once here: raised with no message, it speaks with this one, and
    # with no field, it names this field.
    default_message: str = ""
    default_field: str | None = None

    def __init__(self, message: str | None = None, field: str | None = None, code: str | None = None) -> None:
        self.message = redact(message if message is not None else self.default_message)
        self.field = field if field is not None else self.default_field
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str | None]:
        """One entry of the problem+json `errors` list."""
        return {"code": self.code, "field": self.field, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r}, message={self.message!r})"


class InvalidField(DomainError):
    code = "invalid_field"
    status = 422


class Required(InvalidField):
    """A field the rule cannot do without is missing or empty."""

    default_message = "必須項目です"


class InvalidSex(InvalidField):
    """性別 is one of the two the register records (男・女)."""

    default_message = "性別は male か female です"
    default_field = "sex"


class InvalidResidenceCardNumber(InvalidField):
    """在留カード番号: 2 letters, 8 digits, 2 letters (出入国管理及び難民認定法施行規則 様式)."""

    default_message = "在留カード番号は英字2桁・数字8桁・英字2桁です"
    default_field = "residence_card_number"


class InvalidMyNumber(DomainError):
    code = "invalid_my_number"
    status = 422


class InvalidResidentCode(DomainError):
    code = "invalid_resident_code"
    status = 422


class InvalidDate(DomainError):
    code = "invalid_date"
    status = 422


class DuplicateMyNumber(DomainError):
    code = "duplicate_my_number"
    status = 409


class DuplicateResidentCode(DomainError):
    code = "duplicate_resident_code"
    status = 409


class DuplicateResidenceCardNumber(DomainError):
    code = "duplicate_residence_card_number"
    status = 409


class LaterChangeExists(DomainError):
    """取消し of a change that a later change builds on (標準仕様書 j980): that one must be cancelled first."""

    code = "later_change_exists"
    status = 409


class AlreadyResident(DomainError):
    code = "already_resident"
    status = 409


class NotResident(DomainError):
    code = "not_resident"
    status = 409


class HouseholderRequired(DomainError):
    code = "householder_required"
    status = 409


class MultipleHouseholders(DomainError):
    code = "multiple_householders"
    status = 409


class NonAddressChange(DomainError):
    code = "non_address_change"
    status = 422


# --- 特例転出・特例転入・転入通知受理 (住基法24条の2, 9条1項; 標準仕様書 j670, j680) ---


class CardMoveOutDestinationRequired(DomainError):
    """特例転出: the 転出証明書情報 goes to the destination's CS, so its 市町村コード is needed (never abroad)."""

    code = "card_move_out_destination_required"
    status = 422
    default_message = "特例転出には転出先の市町村コード（6桁）が必要です（国外転出は特例転出できません）"
    default_field = "destination.municipality_code"


class CardMoveOutNoCertificate(DomainError):
    """特例転出 (j670): no paper 転出証明書 is issued; the next city reads the 転出証明書情報 through the CS."""

    code = "card_move_out_no_certificate"
    status = 409
    default_message = "特例転出のため転出証明書は交付しません（転出証明書情報は市町村CSから送信されます）"
    default_field = "addressee_numbers"


class CardMoveInPeriodOver(DomainError):
    """住基法24条の2: a 特例転入 is filed by the earlier of 転出予定日 + 30 days and 転入日 + 14 days."""

    code = "card_move_in_period_over"
    status = 422
    default_message = (
        "特例転入の届出期間（転出予定日から30日・転入日から14日のいずれか早い日まで）を過ぎています。"
        "転出証明書による転入届を案内してください"
    )
    default_field = "filed_on"


class MoveOutCertificateNotFound(DomainError):
    """The CS holds no 転出証明書情報 for this 特例転入 (none received, or already used)."""

    code = "moveout_certificate_not_found"
    status = 404
    default_message = "市町村CSに該当する転出証明書情報がありません"
    default_field = "moveout_certificate_id"


class MoveOutCertificatesUnavailable(DomainError):
    """The register is run without a 市町村CS: no 転出証明書情報 can be looked up."""

    code = "moveout_certificates_unavailable"
    status = 409
    default_message = "市町村CSが転出証明書情報を保持していません（市町村CSに接続されていません）"
    default_field = "moveout_certificate_id"


class MoveOutNotFound(DomainError):
    """転入通知受理: no 除票 of this 住民票コード removed by 転出 (国外転出, 死亡 and 職権消除 get no 転入通知)."""

    code = "move_out_not_found"
    status = 404
    default_message = "この住民票コードで転出により消除された住民がいません"
    default_field = "resident_code"


class MoveOutAlreadyConfirmed(DomainError):
    """転入通知受理 twice for one 転出: the first one stands (the CS treats this answer as done)."""

    code = "move_out_already_confirmed"
    status = 409
    default_message = "この転出の転入通知はすでに受理されています"
    default_field = "resident_code"


class MoveInBeforeMoveOutAddress(DomainError):
    """転入通知受理: a 転入日 before the person came to live at the address they moved out of cannot be right."""

    code = "moved_in_before_last_address"
    status = 422
    default_message = "転入日が、転出前の住所に住み始めた日より前です"
    default_field = "moved_in_on"


class MinorCorrectionNotAllowed(DomainError):
    """軽微な修正 changes the text of a name, its kana or an address only; anything else is a 職権修正."""

    code = "minor_correction_not_allowed"
    status = 422
    default_message = "軽微な修正で直せるのは氏名・ふりがな・住所の表記だけです（職権修正で行ってください）"
    default_field = "corrections"


class InsufficientSearchCriteria(DomainError):
    code = "insufficient_search_criteria"
    status = 422


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotFound(DomainError):
    code = "not_found"
    status = 404


class ResidentNotFound(NotFound):
    default_message = "該当する住民が見つかりません"
    default_field = "addressee_number"


class HouseholdNotFound(NotFound):
    default_message = "該当する世帯が見つかりません"
    default_field = "household_number"


class FilingNotFound(NotFound):
    default_message = "該当する届出が見つかりません"
    default_field = "filing_id"


class StaffNotFound(NotFound):
    default_message = "該当する職員がいません"
    default_field = "staff_id"


class AuditReportNotFound(NotFound):
    default_message = "該当する帳票がありません"
    default_field = "kind"


class IssuanceNotFound(NotFound):
    default_message = "該当する発行番号がありません"
    default_field = "issuance_number"


class PendingApprovalNotFound(NotFound):
    default_message = "決裁待ちの職権処理が見つかりません"
    default_field = "filing_id"


class FilingKindNotFound(NotFound):
    default_message = "該当する届出の種類がありません"
    default_field = "kind"


class ProtectionMeasureNotFound(NotFound):
    default_message = "該当する支援措置がありません"
    default_field = "measure_id"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class ProtectedRecord(DomainError):
    code = "protected_record"
    status = 403


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class WebAuthnRequired(DomainError):
    """Password and one-time code are right, but the role signs in with a WebAuthn authenticator as well."""

    code = "webauthn_required"
    status = 401


# --- コンビニ交付 (kiosk issuance) ---


class CardLocked(DomainError):
    """Three wrong PINs in a row (at any kiosks): the card's user certificate is locked until the counter resets it."""

    code = "card_locked"
    status = 403


class OutsideServiceHours(DomainError):
    """The kiosk service is closed now (before or after the service hours, or 年末年始)."""

    code = "outside_service_hours"
    status = 403


class ReferToCounter(DomainError):
    """The kiosk cannot issue this; the kiosk shows 「窓口でお問い合わせください」 and is never told why (a 支援措置
    or hold, a record the kiosk may not print): the reason is in the operation log only."""

    code = "refer_to_counter"
    status = 403


# --- 住民票コード and 個人番号 from J-LIS (住基法30条の2〜30条の4, 番号法7条・8条; docs/numbers.md) -------------------


class ResidentCodeStockEmpty(DomainError):
    """標準仕様書 j870 / j60: a person who needs a 住民票コード gets one from the city's stock, never none; with the
    stock empty the change waits until the CS has topped it up from J-LIS."""

    code = "resident_code_stock_empty"
    status = 409
    default_message = (
        "住民票コードの在庫がありません。市町村CSが地方公共団体情報システム機構から補充するまでお待ちください"
    )
    default_field = "resident_code"


class ResidentCodeBlockOverlaps(DomainError):
    """A block of 住民票コード from J-LIS that would give a code twice (already in the stock or held by a
    record): refused whole."""

    code = "resident_code_block_overlaps"
    status = 409
    default_message = "受け取った住民票コードに、使用済みまたは在庫済みのコードが含まれています"
    default_field = "codes"


class NumberRequestNotFound(DomainError):
    """An answer from J-LIS for a 個人番号 request the register never made, or already closed."""

    code = "number_request_not_found"
    status = 409
    default_message = "この個人番号の要求は行われていないか、すでに処理済みです"
    default_field = "request_id"


class NumberRequestOpen(DomainError):
    """A person has one 個人番号 request open at a time: a second waits for the first's answer."""

    code = "number_request_open"
    status = 409
    default_message = "この住民には回答待ちの個人番号の要求があります"
    default_field = "addressee_number"


# --- 個人番号カード at the counter: 交付申請, 交付, 本人確認 (番号法17条; docs/cards.md) ------------------------------


class CardApplicationNotFound(NotFound):
    default_message = "該当する個人番号カードの交付申請がありません"
    default_field = "application_id"


class CardApplicationOpen(DomainError):
    """A person has one 交付申請 under way at a time: a new one waits until it is handed over or 廃止."""

    code = "card_application_open"
    status = 409
    default_message = "この住民には交付前の個人番号カードの申請があります"
    default_field = "addressee_number"


class CardApplicationState(DomainError):
    """A step the application's state does not allow (a 交付 before the card arrived, a 廃止 after 交付 …)."""

    code = "card_application_state"
    status = 409
    default_field = "application_id"


class IdentityCheckInsufficient(DomainError):
    """交付 needs the applicant's identity checked with enough documents (domain/card_applications.py)."""

    code = "identity_check_insufficient"
    status = 422
    default_field = "identity_documents"


class PinsNotSet(DomainError):
    """The holder sets the card's PINs at the counter before it is handed over (the city never learns them)."""

    code = "pins_not_set"
    status = 422
    default_message = "暗証番号の設定が済んでいません（本人がカードに暗証番号を設定してから交付します）"
    default_field = "pins_set"


class CardUntrusted(DomainError):
    """A certificate that J-LIS's CA did not issue as a card's 利用者証明用電子証明書."""

    code = "card_untrusted"
    status = 422
    default_message = "地方公共団体情報システム機構が発行した利用者証明用電子証明書ではありません"
    default_field = "certificate"


class CardNotRegistered(DomainError):
    """J-LIS's certificate, but of no card the city handed over or registered."""

    code = "card_not_found"
    status = 404
    default_message = "このカードは登録されていません"
    default_field = "certificate"


class CardRevoked(DomainError):
    """廃止 by the city, or on J-LIS's revocation list: the card proves nothing."""

    code = "card_revoked"
    status = 409
    default_message = "このカードの電子証明書は廃止（失効）されています"
    default_field = "certificate"


class CardSuspended(DomainError):
    """一時停止 (e.g. reported lost): the card proves nothing until the counter lifts it."""

    code = "card_suspended"
    status = 409
    default_message = "このカードは一時停止されています（紛失の届出等）"
    default_field = "certificate"


class CardExpired(DomainError):
    code = "card_expired"
    status = 409
    default_message = "このカードの電子証明書は有効期間外です"
    default_field = "certificate"


class CardHolderMismatch(DomainError):
    """The card belongs to someone else than the record the clerk is working on (who, it does not say)."""

    code = "card_holder_mismatch"
    status = 409
    default_message = "このカードは照会中の住民のものではありません"
    default_field = "certificate"
