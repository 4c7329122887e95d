"""WebAuthn, the strong factor (生体認証による操作者認証) for the 住基ネット side (PIA III リスク2).

A CS operator (`auth.STRONG_FACTOR_ROLES`) gets a token only after three factors in one sign-in: password,
one-time code (TOTP) and a WebAuthn assertion with user verification (the authenticator's fingerprint or face
check; the UV flag is what the register can see of it). There is no other way to a CS operator's session:

* `POST /auth/login` with right password and code answers `401 webauthn_required` and issues nothing (the code is
  left unused so that the same code opens the WebAuthn sign-in).
* Sign-in: `sign_in_options` checks password and code (counted, rate-limited and logged as a sign-in attempt like
  `/auth/login`), uses up the code, and issues a challenge bound to that account and to the purpose
  "authenticate"; `sign_in` verifies the assertion against it with py_webauthn (origin, RP id, challenge, user
  presence and verification, signature) and requires the signature counter to grow (a counter that does not —
  also 0 after 0 — is the mark of a cloned authenticator, or of one without a counter: refused either way).
  Only then is a session opened, and it is tied to the authenticator (`webauthn_sessions`): `auth.authenticate`
  honours a CS operator's session only while that authenticator is active, so deactivating a lost authenticator
  ends its sessions at once.
* Enrolment of a CS operator's authenticator — the first one and every later one — needs an administrator's
  one-time enrolment code (`issue_enrolment_code`, `staff:admin`, valid one hour, kept as a hash, shown once, a
  newer one replaces it) *and* password and one-time code (`enrolment_options`). A session cannot add one: a
  stolen token must not be able to plant an authenticator. Other roles, who sign in without WebAuthn, may add
  their own authenticator from their session (`registration_options`, `webauthn:enrol`); an enrolment code works
  for them too.
* Registration accepts "none" attestation, requires user verification, and refuses synced passkeys (backup
  eligible: a credential that lives in a cloud account is not bound to the operator's terminal).

Challenges are random (32 bytes), kept server-side, single-use (marked used by the first attempt, successful or
not, so a replay is refused) and expire after five minutes. Every step is logged as `auth:webauthn` — options
issued, success, each refusal with its reason (`wrong_origin`, `wrong_rp_id`, `replayed_challenge`,
`expired_challenge`, `user_not_verified`, `sign_count_not_increased`, `credential_of_another_staff` …) —
never a password, code, challenge, key or signature. A failed assertion counts towards the account's lock-out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from juki.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    NotFound,
    StaffNotFound,
    Unauthenticated,
    WebAuthnRequired,
)
from juki.policy.roles import STAFF_ADMIN, WEBAUTHN_ENROL, Actor
from juki.services import auth
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.read_models import StaffAccount, WebAuthnChallenge, WebAuthnCredential
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

ACTION = "auth:webauthn"
CHALLENGE_TTL = timedelta(minutes=5)
ENROLMENT_CODE_TTL = timedelta(hours=1)
_PURGE_AFTER = timedelta(
    days=1
)  # used or expired challenges are kept this long, so a replay is named as such
_MAX_CREDENTIAL_JSON = 64 * 1024
_TRANSPORTS = {t.value for t in AuthenticatorTransport}

_SIGN_IN_FAILED = "生体認証に失敗しました。もう一度サインインをやり直してください"
_REGISTRATION_FAILED = "認証器の登録に失敗しました。もう一度最初からやり直してください"
_CODE_REFUSED = "ユーザー名、パスワード、ワンタイムコードまたは登録コードが正しくありません"
_NOT_ENROLLED = "認証器が登録されていません。管理者から登録コードを受け取り、認証器を登録してください"
_CODE_ONLY = "この役割の認証器は、管理者が発行する登録コードを使って登録してください"

# py_webauthn names what it refused only in its message: the first phrase found gives the reason logged.
_REASONS = (
    ("origin", "wrong_origin"),
    ("RP ID hash", "wrong_rp_id"),
    ("challenge", "wrong_challenge"),
    ("client data type", "wrong_ceremony"),
    ("User verification", "user_not_verified"),
    ("not present", "user_not_present"),
    ("sign count", "sign_count_not_increased"),
    ("signature", "bad_signature"),
)
# What a malformed credential can raise inside py_webauthn and its parsers (base64, CBOR, JSON, COSE).
_BAD_CREDENTIAL = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError)


@dataclass(frozen=True)
class RelyingParty:
    """This register as a WebAuthn relying party (JUKI_WEBAUTHN_RP_ID, _ORIGIN, _RP_NAME)."""

    id: str
    origin: str
    name: str

    @classmethod
    def from_settings(cls, settings: Any) -> RelyingParty:
        return cls(settings.webauthn_rp_id, settings.webauthn_origin, settings.webauthn_rp_name)


@dataclass(frozen=True)
class Ceremony:
    """A challenge handed out: its id (sent back with the authenticator's answer) and the options for the browser."""

    challenge_id: str
    expires_at: datetime
    public_key: dict[str, Any]  # PublicKeyCredentialCreationOptionsJSON / …RequestOptionsJSON

    def to_json(self) -> dict[str, Any]:
        return {
            "challenge_id": self.challenge_id,
            "expires_at": self.expires_at.isoformat(),
            "public_key": self.public_key,
        }


@dataclass(frozen=True)
class EnrolmentCode:
    staff_id: str
    code: str  # shown once; the register keeps its hash
    expires_at: datetime


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _user_handle(staff_id: str) -> bytes:
    """A stable, opaque WebAuthn user id for an account (not its name)."""
    return hashlib.sha256(b"juki-webauthn-user\x00" + staff_id.encode()).digest()


def _code_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _reason(exc: Exception) -> str:
    text = str(exc)
    return next((reason for phrase, reason in _REASONS if phrase.lower() in text.lower()), "invalid_response")


def _descriptors(rows: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(r.credential_id),
            transports=[AuthenticatorTransport(t) for t in r.transports or [] if t in _TRANSPORTS] or None,
        )
        for r in rows
    ]


def _refuse(uow: UnitOfWork, actor: Actor, step: str, reason: str, error: DomainError) -> NoReturn:
    """Log the refusal with its reason, commit (a challenge stays used), raise."""
    uow.log(actor, LogEntry(ACTION, result="failed", detail=f"{step}: {reason}"))
    uow.commit()
    raise error


def _new_challenge(
    uow: UnitOfWork, row: StaffAccount, purpose: str, terminal: str, code_id: str | None = None
) -> tuple[str, bytes, datetime]:
    challenge = secrets.token_bytes(32)
    challenge_id = secrets.token_urlsafe(24)
    expires = uow.now + CHALLENGE_TTL
    uow.webauthn.purge_challenges(uow.now - _PURGE_AFTER)
    uow.webauthn.add_challenge(
        dict(
            challenge_id=challenge_id, staff_id=row.staff_id, purpose=purpose,
            challenge=bytes_to_base64url(challenge), enrolment_code_id=code_id, terminal=terminal[:100],
            created_at=uow.now, expires_at=expires, used_at=None,
        )
    )  # fmt: skip
    return challenge_id, challenge, expires


def _registration(
    uow: UnitOfWork, rp: RelyingParty, row: StaffAccount, terminal: str, code_id: str | None
) -> Ceremony:
    challenge_id, challenge, expires = _new_challenge(uow, row, "register", terminal, code_id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=row.username,
        user_id=_user_handle(row.staff_id),
        user_display_name=row.display_name,
        challenge=challenge,
        timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(uow.webauthn.credentials_of(row.staff_id)),
    )
    return Ceremony(challenge_id, expires, json.loads(options_to_json(options)))


def _take_challenge(
    uow: UnitOfWork,
    challenge_id: str,
    purpose: str,
    terminal: str,
    step: str,
    max_failures: int,
    error: DomainError,
) -> tuple[WebAuthnChallenge, StaffAccount, Actor]:
    """The challenge and its account, the challenge marked used; a refusal is logged, committed and raised."""
    ch = uow.webauthn.challenge(challenge_id[:64])
    if ch is None:
        _refuse(uow, auth.anonymous("(不明)", terminal), step, "unknown_challenge", error)
    row = uow.webauthn.staff(ch.staff_id)
    if row is None:  # the challenge names its account (a foreign key): not reached
        _refuse(uow, auth.anonymous("(不明)", terminal), step, "unknown_account", error)
    actor = auth.actor_of(row, terminal)
    if ch.used_at is not None or not uow.webauthn.use_challenge(ch.challenge_id, uow.now):
        _refuse(uow, actor, step, "replayed_challenge", error)
    if ch.purpose != purpose:
        _refuse(uow, actor, step, "wrong_purpose", error)
    if _aware(ch.expires_at) <= uow.now:
        _refuse(uow, actor, step, "expired_challenge", error)
    if not auth.usable(uow, row, max_failures):
        _refuse(uow, actor, step, "account_unusable", error)
    return ch, row, actor


def _checked_size(credential: Mapping[str, Any]) -> dict[str, Any]:
    if len(json.dumps(credential, ensure_ascii=True)) > _MAX_CREDENTIAL_JSON:
        raise InvalidField("認証器の応答が大きすぎます", "credential")
    return dict(credential)


# --- enrolment ---------------------------------------------------------------------------------------------------


def issue_enrolment_code(
    uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str, valid_for: timedelta = ENROLMENT_CODE_TTL
) -> EnrolmentCode:
    """An administrator's one-time code that lets `staff_id` register an authenticator (with password and TOTP)."""
    authorize(uow_factory, actor, STAFF_ADMIN, ACTION)
    code = _new_code()
    with uow_factory() as uow:
        row = uow.webauthn.staff(staff_id[:40])
        if row is None:
            raise StaffNotFound()
        if not row.active:
            raise InvalidField("無効にされたアカウントには登録コードを発行できません", "staff_id")
        expires = uow.now + valid_for
        uow.webauthn.add_enrolment_code(
            dict(
                code_id=f"EC{secrets.token_hex(8)}", staff_id=row.staff_id, code_hash=_code_hash(code),
                issued_by=actor.staff_id, issued_at=uow.now, expires_at=expires, used_at=None, revoked_at=None,
            )
        )  # fmt: skip
        uow.log(actor, LogEntry(ACTION, detail=f"enrolment_code: issued for {row.staff_id}"))
        uow.commit()
    return EnrolmentCode(row.staff_id, code, expires)


def registration_options(uow_factory: UnitOfWorkFactory, actor: Actor, rp: RelyingParty) -> Ceremony:
    """A signed-in staff member adds an authenticator of their own (not a strong-factor role: see above)."""
    if auth.needs_webauthn(actor.role):
        with uow_factory() as uow:
            uow.log(
                actor,
                LogEntry(ACTION, result="denied", detail="registration_options: enrolment code required"),
            )
            uow.commit()
        raise Forbidden(_CODE_ONLY)
    authorize(uow_factory, actor, WEBAUTHN_ENROL, ACTION)
    with uow_factory() as uow:
        row = uow.webauthn.staff(actor.staff_id)
        if row is None:  # a signed-in actor's account: not reached
            raise StaffNotFound()
        ceremony = _registration(uow, rp, row, actor.terminal, None)
        uow.log(actor, LogEntry(ACTION, detail="registration_options"))
        uow.commit()
    return ceremony


def enrolment_options(
    uow_factory: UnitOfWorkFactory,
    rp: RelyingParty,
    username: str,
    password: str,
    otp: str,
    enrolment_code: str,
    terminal: str,
    max_failures: int,
    rate_limit: int,
) -> Ceremony:
    """Without a session: password, one-time code and the administrator's enrolment code open a registration."""
    with uow_factory() as uow:
        row, step = auth.check_password_and_otp(
            uow, username, password, otp, terminal, max_failures, rate_limit
        )
        actor = auth.actor_of(row, terminal)
        uow.webauthn.record_otp_step(row.staff_id, step)
        code = uow.webauthn.enrolment_code(_code_hash(enrolment_code[:100]))
        reason = (
            "unknown_enrolment_code" if code is None or code.staff_id != row.staff_id
            else "used_enrolment_code" if code.used_at is not None or code.revoked_at is not None
            else "expired_enrolment_code" if _aware(code.expires_at) <= uow.now
            else None
        )  # fmt: skip
        if reason is not None or code is None:  # code is None: reason says so
            uow.staff.record_failure(row.staff_id)
            _refuse(uow, actor, "enrolment_options", str(reason), Unauthenticated(_CODE_REFUSED))
        ceremony = _registration(uow, rp, row, terminal, code.code_id)
        uow.log(actor, LogEntry(ACTION, detail="enrolment_options"))
        uow.commit()
    return ceremony


def register(
    uow_factory: UnitOfWorkFactory,
    rp: RelyingParty,
    challenge_id: str,
    credential: Mapping[str, Any],
    name: str | None,
    terminal: str,
    max_failures: int,
) -> dict[str, Any]:
    """Verify the authenticator's attestation against a registration challenge and store the credential."""
    credential = _checked_size(credential)
    error = Unauthenticated(_REGISTRATION_FAILED)
    with uow_factory() as uow:
        ch, row, actor = _take_challenge(
            uow, challenge_id, "register", terminal, "registration", max_failures, error
        )
        if auth.needs_webauthn(row.role) and ch.enrolment_code_id is None:
            _refuse(uow, actor, "registration", "enrolment_code_required", Forbidden(_CODE_ONLY))
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(ch.challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                require_user_verification=True,
            )
        except _BAD_CREDENTIAL as exc:
            _refuse(uow, actor, "registration", _reason(exc), error)
        if verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE:
            message = "同期されるパスキーは登録できません。この端末で使う認証器を登録してください"
            _refuse(uow, actor, "registration", "synced_passkey", InvalidField(message, "credential"))
        credential_id = bytes_to_base64url(verified.credential_id)
        if uow.webauthn.credential(credential_id) is not None:
            conflict = Conflict("この認証器は既に登録されています", "credential")
            _refuse(uow, actor, "registration", "already_registered", conflict)
        if ch.enrolment_code_id is not None and not uow.webauthn.use_enrolment_code(
            ch.enrolment_code_id, uow.now
        ):
            _refuse(uow, actor, "registration", "used_enrolment_code", error)
        response = credential.get("response")
        sent = response.get("transports") if isinstance(response, dict) else None
        transports = [t for t in sent if t in _TRANSPORTS] if isinstance(sent, list) else []
        added = WebAuthnCredential(
            credential_id=credential_id, staff_id=row.staff_id,
            public_key=bytes_to_base64url(verified.credential_public_key), sign_count=verified.sign_count,
            transports=transports, aaguid=verified.aaguid, name=(name or "認証器")[:100], created_at=uow.now,
            last_used_at=None, active=True, deactivated_at=None, deactivated_by=None,
        )  # fmt: skip
        uow.webauthn.add_credential(asdict(added))
        how = "enrolment code" if ch.enrolment_code_id else "session"
        uow.log(actor, LogEntry(ACTION, detail=f"registration: {credential_id[:16]}… ({how})"))
        uow.commit()
    return credential_view(added)


# --- sign-in ----------------------------------------------------------------------------------------------------


def sign_in_options(
    uow_factory: UnitOfWorkFactory,
    rp: RelyingParty,
    username: str,
    password: str,
    otp: str,
    terminal: str,
    max_failures: int,
    rate_limit: int,
) -> Ceremony:
    """Password and one-time code first; then a challenge for one of the account's authenticators."""
    with uow_factory() as uow:
        row, step = auth.check_password_and_otp(
            uow, username, password, otp, terminal, max_failures, rate_limit
        )
        actor = auth.actor_of(row, terminal)
        uow.webauthn.record_otp_step(row.staff_id, step)
        credentials = uow.webauthn.credentials_of(row.staff_id)
        if not credentials:
            _refuse(uow, actor, "sign_in_options", "no_authenticator", WebAuthnRequired(_NOT_ENROLLED))
        challenge_id, challenge, expires = _new_challenge(uow, row, "authenticate", terminal)
        options = generate_authentication_options(
            rp_id=rp.id,
            challenge=challenge,
            timeout=int(CHALLENGE_TTL.total_seconds() * 1000),
            allow_credentials=_descriptors(credentials),
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        uow.log(actor, LogEntry(ACTION, detail="sign_in_options"))
        uow.commit()
    return Ceremony(challenge_id, expires, json.loads(options_to_json(options)))


def sign_in(
    uow_factory: UnitOfWorkFactory,
    rp: RelyingParty,
    challenge_id: str,
    credential: Mapping[str, Any],
    terminal: str,
    ttl_seconds: int,
    max_failures: int,
) -> auth.Token:
    """Verify the assertion; on success open a session tied to the authenticator. Failures count to lock-out."""
    credential = _checked_size(credential)
    error = Unauthenticated(_SIGN_IN_FAILED)
    with uow_factory() as uow:
        ch, row, actor = _take_challenge(
            uow, challenge_id, "authenticate", terminal, "sign_in", max_failures, error
        )

        def refuse(reason: str) -> NoReturn:
            uow.staff.record_failure(row.staff_id)
            _refuse(uow, actor, "sign_in", reason, error)

        sent_id = credential.get("id")
        stored = uow.webauthn.credential(sent_id[:1400]) if isinstance(sent_id, str) else None
        if stored is None:
            refuse("unknown_credential")
        if stored.staff_id != row.staff_id:
            refuse("credential_of_another_staff")
        if not stored.active:
            refuse("credential_deactivated")
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(ch.challenge),
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=base64url_to_bytes(stored.public_key),
                credential_current_sign_count=stored.sign_count,
                require_user_verification=True,
            )
        except _BAD_CREDENTIAL as exc:
            refuse(_reason(exc))
        # py_webauthn lets 0 follow 0 (authenticators without a counter); here the counter must always grow.
        if verified.new_sign_count <= stored.sign_count:
            refuse("sign_count_not_increased")
        if not uow.webauthn.used_credential(
            stored.credential_id, stored.sign_count, verified.new_sign_count, uow.now
        ):
            refuse("sign_count_race")  # another sign-in with the same authenticator got there first
        uow.webauthn.clear_failures(row.staff_id)
        token = auth.open_session(uow, row, terminal, ttl_seconds)
        uow.webauthn.link_session(auth.token_hash(token.access_token), stored.credential_id)
        uow.log(actor, LogEntry(ACTION, detail=f"sign_in: {stored.credential_id[:16]}…"))
        uow.commit()
    return token


# --- the account's authenticators ------------------------------------------------------------------------------


def credential_view(row: WebAuthnCredential) -> dict[str, Any]:
    def moment(at: datetime | None) -> str | None:
        return None if at is None else _aware(at).isoformat()

    return {
        "credential_id": row.credential_id,
        "staff_id": row.staff_id,
        "name": row.name,
        "transports": list(row.transports or []),
        "aaguid": row.aaguid,
        "created_at": moment(row.created_at),
        "last_used_at": moment(row.last_used_at),
        "active": bool(row.active),
    }


def list_credentials(
    uow_factory: UnitOfWorkFactory, actor: Actor, staff_id: str | None = None
) -> list[dict[str, Any]]:
    """One's own authenticators; an administrator may list anyone's."""
    target = (staff_id or actor.staff_id)[:40]
    authorize(uow_factory, actor, WEBAUTHN_ENROL if target == actor.staff_id else STAFF_ADMIN, ACTION)
    with uow_factory() as uow:
        rows = uow.webauthn.credentials_of(target, active_only=False)
        uow.log(actor, LogEntry(ACTION, detail=f"credentials: listed for {target}"))
        uow.commit()
    return [credential_view(r) for r in rows]


def deactivate(uow_factory: UnitOfWorkFactory, actor: Actor, credential_id: str) -> None:
    """Deactivate a lost or replaced authenticator (one's own, or anyone's for an administrator).

    The sessions it opened stop working (auth.authenticate); it can never be used again.
    """
    with uow_factory() as uow:
        stored = uow.webauthn.credential(credential_id[:1400])
    own = stored is not None and stored.staff_id == actor.staff_id and actor.may(WEBAUTHN_ENROL)
    if not own:
        authorize(uow_factory, actor, STAFF_ADMIN, ACTION)
    if stored is None:
        raise NotFound("該当する認証器がありません", "credential_id")
    with uow_factory() as uow:
        uow.webauthn.deactivate(stored.credential_id, actor.staff_id, uow.now)
        uow.log(
            actor, LogEntry(ACTION, detail=f"deactivate: {stored.credential_id[:16]}… of {stored.staff_id}")
        )
        uow.commit()
