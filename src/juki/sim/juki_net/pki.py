"""The simulated 住基ネット's test PKI (the seed's 相互認証): one CA for the whole network, the simulator's server
certificate, and the client certificates of the two cities' CSs — never for production: the keys sit in files.

The data folder holds, after the first start (and reuses on later ones):
- `ca.pem` / `ca.key` — the test 住基ネット CA;
- `server.pem` / `server.key` — the simulator's TLS server certificate (SAN 127.0.0.1 and localhost);
- `client.pem` / `client.key` — the city CS's client certificate (`juki-net.json`'s `pki` points here);
- `other-city.pem` / `other-city.key` — another city's CS, a second peer the simulator accepts.
Private keys are written owner-only (0600). The folder's code is the simulated networks' (juki.sim.network_pki).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from juki.sim.network_pki import CA, SERVER, SERVER_NAMES, NetworkPKI, ensure_pair, issue_peer, network_ca

__all__ = ["CA", "CLIENT", "OTHER_CITY", "SERVER", "JukiNetPKI", "ensure_pki"]

CLIENT, OTHER_CITY = "client", "other-city"
ORGANISATION = "住基ネット (test)"
CS_UNIT = "市町村CS (test)"
JukiNetPKI = NetworkPKI


def ensure_pki(folder: Path) -> JukiNetPKI:
    """The folder's CA and certificates, made on the first start and kept afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = JukiNetPKI(folder)
    ca = network_ca(folder, "住基ネット CA (test)", ORGANISATION)
    peers = (
        (SERVER, SERVER_NAMES[0], "都道府県サーバ (test)", True),
        (CLIENT, "市町村CS (test)", CS_UNIT, False),
        (OTHER_CITY, "他市町村CS (test)", CS_UNIT, False),
    )
    for stem, common_name, unit, server in peers:
        ensure_pair(pki, stem, partial(issue_peer, ca, ORGANISATION, common_name, unit=unit, server=server))
    return pki
