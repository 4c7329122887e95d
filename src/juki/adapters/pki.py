"""コンビニ交付's PKI as the city sees it (`cryptography`): the checks of the certificates it is shown, and the
composition of the kiosk desk for the services.

Two authorities, as in reality: the **card CA** (J-LIS, 公的個人認証サービス) issues the 利用者証明用電子証明書 on each
My Number card and publishes a CRL of the serials it revoked — the user certificate names nobody, so the city maps
its serial to the resident (`kiosk_cards`); the **kiosk CA** (the コンビニ交付 network) issues each MFP's client
certificate (CN = the kiosk id, extended key usage clientAuth) and the kiosk API's TLS server certificate.

The folder (`JUKI_KIOSK_PKI_DIR`, else `kiosk-pki/` beside the SQLite file, else `var/kiosk-pki`) holds the two CA
certificates (`card-ca.pem`, `kiosk-ca.pem`) — all the server needs — and the server's TLS certificate
(`server.pem`/`server.key`). The test CAs, kiosks and cards that fill it for tests and the demo are juki.sim.pki.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juki.config import Settings
from juki.domain.kiosk import CardRefused, Presented, ServiceHours
from juki.services.certificates import CertificateOffice
from juki.services.kiosk_desk import KioskDesk

CARD_CA, KIOSK_CA, SERVER = "card-ca", "kiosk-ca", "server"


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


# --- what the city checks ------------------------------------------------------------------------------------


def _load(text: str, field: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise CardRefused("malformed", "証明書を読み取れません", field) from None


def _issued_by(cert: x509.Certificate, ca: x509.Certificate | None, field: str) -> None:
    if ca is None:
        raise CardRefused("no_trust_anchor", "証明書を確認できません（信頼点が設定されていません）", field)
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CardRefused("untrusted", "信頼できない発行者の証明書です", field) from None
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise CardRefused("untrusted", "利用者の証明書ではありません", field)


def _extension(cert: x509.Certificate, kind: Any) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _presented(cert: x509.Certificate, subject_id: str) -> Presented:
    return Presented(
        subject_id=subject_id,
        sha256=sha256(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=cert.public_key(),
    )


@dataclass(frozen=True)
class TrustAnchors:
    """The CA certificates the city trusts: J-LIS's for cards, the kiosk network's for kiosks (services.kiosk_desk's
    `KioskTrust`)."""

    card_ca: x509.Certificate | None
    kiosk_ca: x509.Certificate | None

    @classmethod
    def from_dir(cls, folder: Path) -> TrustAnchors:
        def read(stem: str) -> x509.Certificate | None:
            path = folder / f"{stem}.pem"
            return x509.load_pem_x509_certificate(path.read_bytes()) if path.exists() else None

        return cls(read(CARD_CA), read(KIOSK_CA))

    def kiosk(self, text: str) -> Presented:
        cert = _load(text, "client_certificate")
        _issued_by(cert, self.kiosk_ca, "client_certificate")
        usage = _extension(cert, x509.ExtendedKeyUsage)
        if usage is None or ExtendedKeyUsageOID.CLIENT_AUTH not in usage:
            raise CardRefused("untrusted", "端末の証明書ではありません", "client_certificate")
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if not names:
            raise CardRefused("untrusted", "端末の証明書ではありません", "client_certificate")
        return _presented(cert, str(names[0].value))

    def card(self, text: str) -> Presented:
        cert = _load(text, "card_certificate")
        _issued_by(cert, self.card_ca, "card_certificate")
        usage = _extension(cert, x509.KeyUsage)
        if usage is None or not usage.digital_signature:
            raise CardRefused("untrusted", "利用者証明用の証明書ではありません", "card_certificate")
        return _presented(cert, serial_hex(cert))

    def possession(self, card: Presented, challenge: bytes, signature: bytes) -> bool:
        """The card signed the challenge with the key its certificate certifies (ECDSA or RSA PKCS#1 v1.5,
        SHA-256)."""
        key = card.key
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
            else:
                return False
        except InvalidSignature:
            return False
        return True

    def revocations(self, crl_der: bytes) -> list[tuple[str, datetime, str]]:
        """The serials on a CRL the card CA signed: (serial, revoked at, reason). DER, or PEM
        (`-----BEGIN X509 CRL-----`)."""
        try:
            if crl_der.lstrip().startswith(b"-----BEGIN"):
                crl = x509.load_pem_x509_crl(crl_der.strip())
            else:
                crl = x509.load_der_x509_crl(crl_der)
        except ValueError:
            raise CardRefused("malformed", "失効リストを読み取れません", "crl") from None
        if self.card_ca is None or crl.issuer != self.card_ca.subject:
            raise CardRefused("untrusted", "信頼できない発行者の失効リストです", "crl")
        if not crl.is_signature_valid(self.card_ca.public_key()):  # type: ignore[arg-type]
            raise CardRefused("untrusted", "失効リストの署名が正しくありません", "crl")
        found = []
        for entry in crl:
            try:
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
            except x509.ExtensionNotFound:
                reason = "unspecified"
            found.append((format(entry.serial_number, "x"), entry.revocation_date_utc, str(reason)))
        return found


# --- composition -------------------------------------------------------------------------------------------------


def kiosk_pki_dir(settings: Settings) -> Path:
    """`JUKI_KIOSK_PKI_DIR`, else `kiosk-pki/` beside the SQLite file, else `var/kiosk-pki`."""
    if settings.kiosk_pki_dir:
        return Path(settings.kiosk_pki_dir).expanduser()
    from sqlalchemy.engine import make_url

    from juki.adapters.db import database_url as normalise

    url = make_url(normalise(settings.database_url))
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / "kiosk-pki"
    return Path("var/kiosk-pki")


def kiosk_desk(settings: Settings, office: CertificateOffice) -> KioskDesk:
    """What the kiosk service needs from outside: the trust anchors, the hours, and the register's certificate
    office (the composition root's: its QR codes point at `JUKI_PUBLIC_BASE_URL`)."""
    return KioskDesk(
        trust=TrustAnchors.from_dir(kiosk_pki_dir(settings)),
        hours=ServiceHours.parse(
            settings.kiosk_hours_start, settings.kiosk_hours_end, settings.kiosk_year_end_closed
        ),
        office=office,
        session_seconds=settings.kiosk_session_seconds,
    )
