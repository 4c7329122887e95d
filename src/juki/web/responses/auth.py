"""Answers of signing in: tokens and the WebAuthn ceremonies (docs/api-extensions.md "Sign-in and accounts")."""

from __future__ import annotations

from typing import Any

from juki.web.responses import Out


class Token(Out):
    access_token: str
    token_type: str  # bearer
    expires_in: int  # seconds


class Ceremony(Out):
    """A WebAuthn challenge, single-use, to pass to the browser's navigator.credentials."""

    challenge_id: str
    expires_at: str
    public_key: dict[str, Any]  # PublicKeyCredentialCreationOptionsJSON / …RequestOptionsJSON (WebAuthn L3)


class Credential(Out):
    credential_id: str
    staff_id: str
    name: str | None
    transports: list[str]
    aaguid: str | None
    created_at: str | None
    last_used_at: str | None
    active: bool


class Credentials(Out):
    credentials: list[Credential]


class EnrolmentCode(Out):
    """An administrator's enrolment code, shown once."""

    staff_id: str
    enrolment_code: str
    expires_at: str
