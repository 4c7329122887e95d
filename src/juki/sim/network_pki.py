"""What the simulated networks' test PKIs share (the 住基ネット's, sim/juki_net/pki.py, and the 情報提供ネットワーク
システム's, sim/info_network/pki.py): a data folder holding one CA and the peers' pairs (`<stem>.pem` /
`<stem>.key`), each pair issued on the first start and kept afterwards — never for production: the keys sit in
files. The CA and certificate code is the kiosk network's (juki.sim.pki).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from juki.sim.pki import PrivateKey, SimCA, new_key, save_pair

CA, SERVER = "ca", "server"
SERVER_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class NetworkPKI:
    """Where the folder's files are."""

    folder: Path

    def cert(self, stem: str) -> Path:
        return self.folder / f"{stem}.pem"

    def key(self, stem: str) -> Path:
        return self.folder / f"{stem}.key"

    @property
    def ca(self) -> Path:
        return self.cert(CA)


def network_ca(folder: Path, common_name: str, organisation: str) -> SimCA:
    """The folder's CA (`ca.pem` / `ca.key`), made the first time."""
    return SimCA.load_or_create(folder, CA, common_name, organisation)


def issue_peer(
    ca: SimCA,
    organisation: str,
    common_name: str,
    *,
    unit: str | None = None,
    server: bool = False,
    days: int = 3 * 365,
) -> tuple[PrivateKey, x509.Certificate]:
    """A key pair and its certificate: a client's (clientAuth, the caller named by `common_name`) or the server's
    (serverAuth, SAN 127.0.0.1 and localhost)."""
    now = datetime.now(UTC)
    key = new_key()
    names = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit is not None:
        names.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    cert = ca.issue(
        key.public_key(),
        x509.Name(names),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=days),
        client=not server,
        server_names=SERVER_NAMES if server else (),
    )
    return key, cert


def ensure_pair(pki: NetworkPKI, stem: str, issue: Callable[[], tuple[PrivateKey, x509.Certificate]]) -> None:
    """`<stem>.pem` / `<stem>.key` from `issue`, unless they are there already (kept across starts)."""
    if pki.cert(stem).exists() and pki.key(stem).exists():
        return
    save_pair(pki.folder, stem, *issue())
