"""The simulated 情報提供ネットワークシステム's test PKI: its own CA (not the 住基ネット's: the two networks trust
nobody of the other), the network's server certificate, and a client certificate for each kind of caller the
wire names (juki.intermediate.wire) — never for production: the keys sit in files.

The data folder holds, after the first start (and reuses on later ones):
- `ca.pem` / `ca.key` — the test network CA;
- `server.pem` / `server.key` — the network's TLS server certificate (SAN 127.0.0.1 and localhost);
- `city.pem` / `city.key` — the city's 中間サーバー (CN "中間サーバー <市町村コード>", `info-network.json`'s `pki`);
- `jlis.pem` / `jlis.key` — J-LIS's link to the network (CN "J-LIS");
- `client.pem` / `client.key` — the requesting bodies (CN "照会機関").
Private keys are written owner-only (0600). The certificate code is the 住基ネット simulator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from juki.domain.intake import CITY_CODE
from juki.intermediate.wire import CITY_CN_PREFIX, JLIS_CN, REQUESTER_CN
from juki.sim.pki import PrivateKey, SimCA, new_key, save_pair

CA, SERVER, CITY, JLIS, REQUESTER = "ca", "server", "city", "jlis", "client"
ORGANISATION = "情報提供ネットワークシステム (test)"
SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class InfoNetworkPKI:
    """Where the folder's files are."""

    folder: Path

    def cert(self, stem: str) -> Path:
        return self.folder / f"{stem}.pem"

    def key(self, stem: str) -> Path:
        return self.folder / f"{stem}.key"

    @property
    def ca(self) -> Path:
        return self.cert(CA)


def city_common_name(city_code: str) -> str:
    return CITY_CN_PREFIX + city_code


def _ca(folder: Path) -> SimCA:
    return SimCA.load_or_create(folder, CA, "情報提供ネットワークシステム CA (test)", ORGANISATION)


def issue_peer(ca: SimCA, common_name: str, *, server: bool = False) -> tuple[PrivateKey, x509.Certificate]:
    """A key pair and its certificate: a client's (clientAuth, the caller named by `common_name`) or the
    server's (serverAuth, SAN 127.0.0.1 and localhost)."""
    now = datetime.now(UTC)
    key = new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = ca.issue(
        key.public_key(),
        subject,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=3 * 365),
        client=not server,
        server_names=SERVER_NAMES if server else (),
    )
    return key, cert


def ensure_pair(folder: Path, stem: str, common_name: str, *, server: bool = False) -> None:
    """`<stem>.pem` / `<stem>.key` issued by the folder's CA, unless they are there already (another city's
    中間サーバー for the tests: `ensure_pair(folder, "city-132012", city_common_name("132012"))`)."""
    pki = InfoNetworkPKI(folder)
    if pki.cert(stem).exists() and pki.key(stem).exists():
        return
    save_pair(folder, stem, *issue_peer(_ca(folder), common_name, server=server))


def ensure_pki(folder: Path, city_code: str = CITY_CODE) -> InfoNetworkPKI:
    """The folder's CA and certificates, made on the first start and kept afterwards (the city's certificate
    names `city_code` when it is first made)."""
    folder.mkdir(parents=True, exist_ok=True)
    _ca(folder)
    ensure_pair(folder, SERVER, SERVER_NAMES[0], server=True)
    ensure_pair(folder, CITY, city_common_name(city_code))
    ensure_pair(folder, JLIS, JLIS_CN)
    ensure_pair(folder, REQUESTER, REQUESTER_CN)
    return InfoNetworkPKI(folder)
