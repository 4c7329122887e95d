"""The test PKI of コンビニ交付 (`cryptography`), the city's checks of the certificates it is shown, and the
composition of the kiosk desk for the services.

Two authorities, as in reality:
- the **card CA** — a stand-in for J-LIS (公的個人認証サービス): it issues the 利用者証明用電子証明書 on each My Number
  card (EC P-256 here; RSA 2048, as the real ones are, is accepted too) and publishes a CRL of the serials it
  revoked. The user certificate names nobody — no name, no My Number, a random CN — as the real one: the city maps
  its serial to the resident (`kiosk_cards`);
- the **kiosk CA** — the コンビニ交付 network's: it issues each MFP's client certificate (CN = the kiosk id,
  extended key usage clientAuth) and the kiosk API's TLS server certificate.

The folder (`JUKI_KIOSK_PKI_DIR`, else `kiosk-pki/` beside the SQLite file, else `var/kiosk-pki`) holds the two CA
certificates (`card-ca.pem`, `kiosk-ca.pem`) — all the server needs — and, for the test CA only, their keys, the
server's TLS certificate (`server.pem`/`server.key`) and the kiosks' (`kiosks/<id>.pem`/`.key`).

`SimCard` is the card's chip: it keeps the private key and the PIN and signs a challenge only after the right PIN.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juki.config import Settings
from juki.domain.kiosk import PIN, CardRefused, Presented, ServiceHours
from juki.services.certificates import CertificateOffice
from juki.services.kiosk_desk import KioskDesk

CARD_CA, KIOSK_CA, SERVER = "card-ca", "kiosk-ca", "server"
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class WrongPin(Exception):
    """The card's chip refused the PIN (it signs nothing)."""


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(**parts: str) -> x509.Name:
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME}
    attrs = [x509.NameAttribute(oids[k], v) for k, v in parts.items() if k in oids]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, parts["CN"]))
    return x509.Name(attrs)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def save_pair(folder: Path, stem: str, key: PrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    """`<stem>.pem` (certificate) and `<stem>.key` (private key, owner only)."""
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    _write(cert_path, pem(cert).encode())
    _write(key_path, key_pem(key), private=True)
    return cert_path, key_path


def load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("unsupported key type")
    return key


@dataclass(frozen=True)
class SimCA:
    """A certificate authority for tests and the demo (never a production one: its key sits in a file)."""

    key: PrivateKey
    cert: x509.Certificate

    @classmethod
    def create(
        cls, common_name: str, organisation: str, *, now: datetime | None = None, years: int = 20
    ) -> SimCA:
        now = now or datetime.now(UTC)
        key = new_key()
        name = _name(C="JP", O=organisation, CN=common_name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, folder: Path, stem: str) -> SimCA:
        cert = x509.load_pem_x509_certificate((folder / f"{stem}.pem").read_bytes())
        return cls(load_key(folder / f"{stem}.key"), cert)

    @classmethod
    def load_or_create(cls, folder: Path, stem: str, common_name: str, organisation: str) -> SimCA:
        if (folder / f"{stem}.pem").exists() and (folder / f"{stem}.key").exists():
            return cls.load(folder, stem)
        ca = cls.create(common_name, organisation)
        save_pair(folder, stem, ca.key, ca.cert)
        return ca

    def issue(
        self,
        public_key: Any,
        subject: x509.Name,
        *,
        not_before: datetime,
        not_after: datetime,
        client: bool = True,
        server_names: Iterable[str] = (),
    ) -> x509.Certificate:
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        names = list(server_names)
        if names:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, bool(names), False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        if names:
            alt: list[x509.GeneralName] = []
            for n in names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(n)))
                except ValueError:
                    alt.append(x509.DNSName(n))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def crl(
        self, revoked: Iterable[tuple[int, datetime]], *, now: datetime | None = None, days: int = 1
    ) -> bytes:
        """A CRL (DER) of these serials, as J-LIS publishes them."""
        now = now or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now)
            .next_update(now + timedelta(days=days))
        )
        for serial, at in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
            )
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# --- the card ------------------------------------------------------------------------------------------------


@dataclass
class SimCard:
    """A My Number card's user-certificate application: the certificate (readable without a PIN), the private key
    that never leaves the chip, and the PIN the chip checks before it signs."""

    cert: x509.Certificate
    key: PrivateKey
    pin: str

    @property
    def serial(self) -> str:
        return serial_hex(self.cert)

    @property
    def certificate_pem(self) -> str:
        return pem(self.cert)

    def sign(self, challenge: bytes, pin: str) -> bytes:
        if pin != self.pin:
            raise WrongPin
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
        return self.key.sign(challenge, ec.ECDSA(hashes.SHA256()))

    def save(self, folder: Path) -> tuple[Path, Path]:
        return save_pair(folder, self.serial, self.key, self.cert)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path, pin: str) -> SimCard:
        return cls(x509.load_pem_x509_certificate(cert_path.read_bytes()), load_key(key_path), pin)


def card_subject() -> x509.Name:
    """Like the real user certificate's: the service and a random id, nothing about the person."""
    return _name(
        C="JP", O="JPKI (test)", OU="JPKI for user authentication (test)", CN=secrets.token_hex(8).upper()
    )


def issue_card(
    ca: SimCA,
    pin: str | None = None,
    *,
    now: datetime | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    kind: str = "ec",
) -> SimCard:
    """A new card: its key pair, its user certificate (5 years, as a card's for an adult) and its PIN."""
    now = now or datetime.now(UTC)
    pin = pin or f"{secrets.randbelow(10_000):04d}"
    if not PIN.fullmatch(pin):
        raise ValueError("a PIN is 4 digits")
    key = new_key(kind)
    cert = ca.issue(
        key.public_key(),
        card_subject(),
        not_before=not_before or now - timedelta(minutes=5),
        not_after=not_after or now + timedelta(days=5 * 365),
    )
    return SimCard(cert, key, pin)


def issue_kiosk(
    ca: SimCA,
    kiosk_id: str,
    *,
    now: datetime | None = None,
    days: int = 3 * 365,
    not_after: datetime | None = None,
) -> tuple[PrivateKey, x509.Certificate]:
    now = now or datetime.now(UTC)
    key = new_key()
    cert = ca.issue(
        key.public_key(),
        _name(C="JP", O="コンビニ交付端末 (test)", CN=kiosk_id),
        not_before=now - timedelta(minutes=5),
        not_after=not_after or now + timedelta(days=days),
    )
    return key, cert


def issue_server(
    ca: SimCA, names: Iterable[str] = ("localhost", "127.0.0.1"), *, now: datetime | None = None
) -> tuple[PrivateKey, x509.Certificate]:
    now = now or datetime.now(UTC)
    key = new_key()
    names = list(names)
    cert = ca.issue(
        key.public_key(),
        _name(C="JP", O="juki kiosk API (test)", CN=names[0]),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=3 * 365),
        client=False,
        server_names=names,
    )
    return key, cert


def create_test_pki(folder: Path) -> tuple[SimCA, SimCA]:
    """The two test CAs and the server certificate in `folder` (kept when they are there already)."""
    card_ca = SimCA.load_or_create(folder, CARD_CA, "JPKI user authentication CA (test)", "J-LIS (test)")
    kiosk_ca = SimCA.load_or_create(folder, KIOSK_CA, "Kiosk network CA (test)", "コンビニ交付 (test)")
    if not (folder / f"{SERVER}.pem").exists():
        save_pair(folder, SERVER, *issue_server(kiosk_ca))
    return card_ca, kiosk_ca


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
