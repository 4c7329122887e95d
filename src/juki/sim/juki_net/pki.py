"""The simulated 住基ネット's test PKI (the seed's 相互認証): one CA for the whole network, the simulator's server
certificate, and the client certificates of the two cities' CSs — never for production: the keys sit in files.

The data folder holds, after the first start (and reuses on later ones):
- `ca.pem` / `ca.key` — the test 住基ネット CA;
- `server.pem` / `server.key` — the simulator's TLS server certificate (SAN 127.0.0.1 and localhost);
- `client.pem` / `client.key` — the city CS's client certificate (`juki-net.json`'s `pki` points here);
- `other-city.pem` / `other-city.key` — another city's CS, a second peer the simulator accepts.
Private keys are written owner-only (0600). The CA and certificate code is the kiosk network's (juki.sim.pki).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from juki.sim.pki import PrivateKey, SimCA, new_key, save_pair

CA, SERVER, CLIENT, OTHER_CITY = "ca", "server", "client", "other-city"
SERVER_NAMES = ("127.0.0.1", "localhost")
ORGANISATION = "住基ネット (test)"


@dataclass(frozen=True)
class JukiNetPKI:
    """Where the folder's files are."""

    folder: Path

    def cert(self, stem: str) -> Path:
        return self.folder / f"{stem}.pem"

    def key(self, stem: str) -> Path:
        return self.folder / f"{stem}.key"

    @property
    def ca(self) -> Path:
        return self.cert(CA)


def _subject(common_name: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_peer(
    ca: SimCA, common_name: str, unit: str, *, server: bool = False, days: int = 3 * 365
) -> tuple[PrivateKey, x509.Certificate]:
    """A key pair and its certificate: a client's (clientAuth) or the server's (serverAuth, SAN 127.0.0.1 and
    localhost)."""
    now = datetime.now(UTC)
    key = new_key()
    cert = ca.issue(
        key.public_key(),
        _subject(common_name, unit),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=days),
        client=not server,
        server_names=SERVER_NAMES if server else (),
    )
    return key, cert


def _ensure_pair(ca: SimCA, pki: JukiNetPKI, stem: str, common_name: str, unit: str, server: bool) -> None:
    if pki.cert(stem).exists() and pki.key(stem).exists():
        return
    key, cert = issue_peer(ca, common_name, unit, server=server)
    save_pair(pki.folder, stem, key, cert)


def ensure_pki(folder: Path) -> JukiNetPKI:
    """The folder's CA and certificates, made on the first start and kept afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = JukiNetPKI(folder)
    ca = SimCA.load_or_create(folder, CA, "住基ネット CA (test)", ORGANISATION)
    _ensure_pair(ca, pki, SERVER, SERVER_NAMES[0], "都道府県サーバ (test)", server=True)
    _ensure_pair(ca, pki, CLIENT, "市町村CS (test)", "市町村CS (test)", server=False)
    _ensure_pair(ca, pki, OTHER_CITY, "他市町村CS (test)", "市町村CS (test)", server=False)
    return pki
