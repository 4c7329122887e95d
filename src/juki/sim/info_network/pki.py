"""The simulated 情報提供ネットワークシステム's test PKI: its own CA (not the 住基ネット's: the two networks trust
nobody of the other), the network's server certificate, and a client certificate for each kind of caller the
wire names (juki.intermediate.wire) — never for production: the keys sit in files.

The data folder holds, after the first start (and reuses on later ones):
- `ca.pem` / `ca.key` — the test network CA;
- `server.pem` / `server.key` — the network's TLS server certificate (SAN 127.0.0.1 and localhost);
- `city.pem` / `city.key` — the city's 中間サーバー (CN "中間サーバー <市町村コード>", `info-network.json`'s `pki`);
- `jlis.pem` / `jlis.key` — J-LIS's link to the network (CN "J-LIS");
- `client.pem` / `client.key` — the requesting bodies (CN "照会機関").
Private keys are written owner-only (0600). The folder's code is the simulated networks' (juki.sim.network_pki).
"""

from __future__ import annotations

from pathlib import Path

from juki.domain.intake import CITY_CODE
from juki.intermediate.wire import CITY_CN_PREFIX, JLIS_CN, REQUESTER_CN
from juki.sim import network_pki
from juki.sim.network_pki import CA, SERVER, SERVER_NAMES, NetworkPKI, issue_peer, network_ca
from juki.sim.pki import SimCA

__all__ = [
    "CA",
    "CITY",
    "JLIS",
    "REQUESTER",
    "SERVER",
    "InfoNetworkPKI",
    "city_common_name",
    "ensure_pair",
    "ensure_pki",
]

CITY, JLIS, REQUESTER = "city", "jlis", "client"
ORGANISATION = "情報提供ネットワークシステム (test)"
InfoNetworkPKI = NetworkPKI


def _ca(folder: Path) -> SimCA:
    return network_ca(folder, "情報提供ネットワークシステム CA (test)", ORGANISATION)


def city_common_name(city_code: str) -> str:
    return CITY_CN_PREFIX + city_code


def ensure_pair(folder: Path, stem: str, common_name: str, *, server: bool = False) -> None:
    """`<stem>.pem` / `<stem>.key` issued by the folder's CA, unless they are there already (another city's
    中間サーバー for the tests: `ensure_pair(folder, "city-132012", city_common_name("132012"))`)."""
    network_pki.ensure_pair(
        InfoNetworkPKI(folder),
        stem,
        lambda: issue_peer(_ca(folder), ORGANISATION, common_name, server=server),
    )


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
