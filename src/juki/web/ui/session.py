"""The clerk UI's session cookie: the bearer token, the CSRF secret and the last activity, sealed with AES-GCM.

Why a sealed cookie and not a table (migration 0006 stays empty): the `sessions` table already says whether a
sign-in is valid (expiry, revocation, logout); what the UI adds — when the clerk was last active, whether the
screen is locked, the CSRF secret, the procedure (事務) chosen — changes on every request, and a write per page
view would contend with filings on SQLite for nothing. Sealing (not just signing) keeps the bearer token out of
reach too: a copied cookie cannot be replayed against `/api/v1`, which wants the token itself, and it cannot be
edited to move `last_seen` forward, so the idle lock holds without JavaScript.

The key is derived from the installation's UI key file (adapters/ui_key.py: a file beside the My Number key file,
never in the database), loaded once when the app is built: every worker process opens every other's cookie, and a
restart signs no one out.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request, Response

COOKIE = "juki_ui"
COOKIE_PATH = "/ui"
_AAD = b"juki-ui-session-v1"
_NONCE = 12
_key_lock = threading.Lock()


@dataclass(frozen=True)
class UiSession:
    csrf: str
    token: str | None = None  # None before sign-in (the login form's own CSRF secret)
    last_seen: float = 0.0  # epoch seconds of the last request that counted as activity
    locked: bool = False
    procedure: str | None = None  # the 事務 the clerk acts for; None: the role's default
    # A WebAuthn ceremony begun on this browser (before sign-in): "authenticate:<challenge id>" or "register:<…>".
    # The challenge id stays in the sealed cookie, so only the browser that gave the password and the one-time
    # code can finish the ceremony it began.
    ceremony: str | None = None
    # What the next page shows once, after a redirect: a filing's warnings (an alert-level hold, j410).
    flash: tuple[dict[str, str], ...] = ()

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def idle_for(self, now: float) -> float:
        return now - self.last_seen

    def touched(self, now: float | None = None) -> UiSession:
        return replace(self, last_seen=time.time() if now is None else now)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def anonymous() -> UiSession:
    return UiSession(csrf=new_csrf())


def signed_in(token: str) -> UiSession:
    """A fresh session at sign-in: a new CSRF secret (nothing carried over from the anonymous one)."""
    return UiSession(csrf=new_csrf(), token=token, last_seen=time.time())


def _cipher(request: Request) -> AESGCM:
    state = request.app.state
    with _key_lock:
        cipher: AESGCM | None = getattr(state, "ui_session_cipher", None)
        if cipher is None:
            cipher = AESGCM(state.juki.ui_key.session)
            state.ui_session_cipher = cipher
    return cipher


def read(request: Request) -> UiSession | None:
    """The session the request's cookie holds, or None (absent, forged, sealed under another installation's key)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        blob = base64.urlsafe_b64decode(raw.encode("ascii"))
        plain = _cipher(request).decrypt(blob[:_NONCE], blob[_NONCE:], _AAD)
        data = json.loads(plain)
        return UiSession(
            csrf=str(data["csrf"]),
            token=data.get("token"),
            last_seen=float(data.get("last_seen", 0.0)),
            locked=bool(data.get("locked", False)),
            procedure=data.get("procedure"),
            ceremony=data.get("ceremony"),
            flash=tuple(
                {str(k): str(v) for k, v in item.items()}
                for item in data.get("flash") or ()
                if isinstance(item, dict)
            ),
        )
    except (InvalidTag, ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeError):
        return None


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def write(request: Request, response: Response, session: UiSession) -> Response:
    nonce = os.urandom(_NONCE)
    plain = json.dumps(asdict(session), separators=(",", ":")).encode()
    sealed = nonce + _cipher(request).encrypt(nonce, plain, _AAD)
    response.set_cookie(
        COOKIE,
        base64.urlsafe_b64encode(sealed).decode("ascii"),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


def clear(request: Request, response: Response) -> Response:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=is_https(request)
    )
    return response


def csrf_matches(session: UiSession | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and secrets.compare_digest(session.csrf, str(sent))
