"""A software WebAuthn authenticator: an EC P-256 key, "none" attestation, signed assertions.

It builds what a browser and an authenticator would send (clientDataJSON, authenticatorData with rpIdHash, flags,
signature counter and, when registering, the attested credential data with the COSE key), so the tests run
py_webauthn's real verification. Keyword arguments bend one thing at a time (origin, RP id, UV flag, counter …)
to play a wrong or hostile client.
"""

from __future__ import annotations

import hashlib
import json
import os
from base64 import urlsafe_b64encode
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
ORIGIN = "http://localhost:8000"  # the settings' defaults (JUKI_WEBAUTHN_ORIGIN, _RP_ID)
RP_ID = "localhost"


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).decode().rstrip("=")


class SoftAuthenticator:
    def __init__(self, origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0  # reported 0 at registration; every assertion adds one
        self.origin = origin

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        body = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(body).encode()

    def _auth_data(self, rp_id: str, flags: int, count: int, attested: bool) -> bytes:
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + count.to_bytes(4, "big")
        if attested:
            cid = self.credential_id
            data += bytes(16) + len(cid).to_bytes(2, "big") + cid + self.cose_key()
        return data

    def register(
        self,
        public_key: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool = True,
        synced: bool = False,
    ) -> dict[str, Any]:
        """The answer to navigator.credentials.create() with the server's options (PublicKeyCredential.toJSON())."""
        flags = UP | AT | (UV if uv else 0) | (BE | BS if synced else 0)
        auth_data = self._auth_data(rp_id or public_key["rp"]["id"], flags, self.sign_count, attested=True)
        client_data = self._client_data("webauthn.create", public_key["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def assertion(
        self,
        public_key: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        uv: bool = True,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """The answer to navigator.credentials.get(): signs authenticatorData ‖ SHA-256(clientDataJSON)."""
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        flags = UP | (UV if uv else 0)
        auth_data = self._auth_data(rp_id or public_key["rpId"], flags, sign_count, attested=False)
        client_data = self._client_data("webauthn.get", public_key["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


def sign_in(client: Any, authenticator: SoftAuthenticator, username: str, password: str, otp: str) -> str:
    """The CS operator's sign-in through the API: password + one-time code, then the assertion; the token."""
    options = client.post(
        "/api/v1/auth/webauthn/options", json={"username": username, "password": password, "otp": otp}
    )
    assert options.status_code == 200, options.text
    body = options.json()
    answer = client.post(
        "/api/v1/auth/webauthn/login",
        json={
            "challenge_id": body["challenge_id"],
            "credential": authenticator.assertion(body["public_key"]),
        },
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def enrol(j: Any, username: str, password: str, otp: str, authenticator: SoftAuthenticator) -> None:
    """Register `authenticator` for `username` as an administrator's enrolment code allows (services, no HTTP)."""
    from juki.policy.roles import SYSTEM
    from juki.services import webauthn

    rp = webauthn.RelyingParty.from_settings(j.settings)
    code = webauthn.issue_enrolment_code(j.uow, SYSTEM, username)
    s = j.settings
    ceremony = webauthn.enrolment_options(
        j.uow, rp, username, password, otp, code.code, "test", s.max_failed_logins, s.login_rate_limit
    )
    credential = authenticator.register(ceremony.public_key)
    webauthn.register(
        j.uow, rp, ceremony.challenge_id, credential, "テスト用認証器", "test", s.max_failed_logins
    )
