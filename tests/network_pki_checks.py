"""What the simulated networks' PKI tests check alike (juki.sim.network_pki): the folder made on the first start
holds the named certificates, a later start keeps them to the byte, the keys are owner-only, and the server's
certificate chains to the folder's CA and names 127.0.0.1 and localhost."""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography import x509


def assert_made_once_and_kept(
    folder: Path, certificates: set[str], start_again: Callable[[], object]
) -> None:
    before = {p.name: p.read_bytes() for p in folder.glob("*.pem")}
    assert set(before) == certificates
    start_again()
    assert {p.name: p.read_bytes() for p in folder.glob("*.pem")} == before
    for key in folder.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key.name
    ca = x509.load_pem_x509_certificate(before["ca.pem"])
    server = x509.load_pem_x509_certificate(before["server.pem"])
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
