"""Stand-ins for コンビニ交付's outside authorities and the card (`cryptography`), for tests and the demo — never
for production: their keys sit in files.

- the **card CA** — J-LIS's stand-in (公的個人認証サービス): it issues the 利用者証明用電子証明書 on each My Number
  card (EC P-256 here; RSA 2048, as the real ones are, on request) and publishes a CRL of the serials it revoked;
  the user certificate names nobody — no name, no My Number, a random CN — as the real one;
- the **kiosk CA** — the コンビニ交付 network's: each MFP's client certificate (CN = the kiosk id, extended key
  usage clientAuth) and the kiosk API's TLS server certificate;
- `SimCard`, the card's chip: it keeps the private key and the PIN and signs a challenge only after the right PIN.

`create_test_pki` writes the folder the city reads (adapters/pki.py): the two CA certificates and, for the test CA
only, their keys and the server's TLS certificate; kiosks' pairs go in `kiosks/<id>.pem|.key`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juki.adapters.pki import CARD_CA, KIOSK_CA, SERVER, pem, serial_hex
from juki.domain.kiosk import PIN

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


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


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
