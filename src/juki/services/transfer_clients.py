"""The department systems' OAuth 2.0 clients (庁内連携): registration, the token endpoint, introspection, and the
bearer check of the pull API — with Authlib's authorization server, not hand-rolled (docs/transfer.md).

- Grant: client credentials only (RFC 6749 §4.4); no refresh token; access tokens are random, short-lived
  (`JUKI_TRANSFER_TOKEN_TTL_SECONDS`, 300 s) and kept as SHA-256 digests.
- Client authentication: `client_secret_jwt` (RFC 7523: an HS256 assertion with iss = sub = client_id, aud = the
  token endpoint's URL, exp, and a jti accepted once) and `client_secret_basic` (RFC 6749 §2.3.1, the standard's
  temporary measure). A client's secret is never stored: it is a keyed hash of its id and a salt under the transfer
  key file (adapters/transfer_client_store.TransferKey), checked in constant time.
- Scopes `<provider system>:<resource>:<operation>` (transfer/policy.SCOPES) follow from the rows the system serves;
  a token asks for some or all of the client's (none named: all), never more (`invalid_scope`).
- Introspection (RFC 7662) for the providing side: a client may introspect its own tokens; any other token is
  `{"active": false}`. Juki's own resource servers call `bearer` directly.

Every issue and refusal is written to the operation log, as the system (or as an unknown client); no secret, token or
assertion is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidClientError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc.jwk import OctKey

from juki.domain.errors import Conflict, Forbidden, InvalidField, NotFound, Unauthenticated
from juki.policy.roles import STAFF_ADMIN, Actor
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.transfer_feed import ROLE, log_refusal, policy_in, system_actor, system_in, system_of
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory
from juki.transfer.policy import DepartmentSystem
from juki.transfer.ports import store_of

AUTH_METHODS = ("client_secret_jwt", "client_secret_basic")
UNKNOWN = "unknown-client"


class Keys(Protocol):
    """The transfer key file's derived keys (adapters/transfer_client_store.TransferKey)."""

    def client_secret(self, client_id: str, salt: str) -> str: ...
    def cursor_mac(self, system_id: str, position: int) -> str: ...


@dataclass(frozen=True)
class TokenRequest:
    """What the web layer hands over of a POST to /oauth/token or /oauth/introspect (never logged)."""

    uri: str
    headers: Mapping[str, str]
    form: Mapping[str, str]
    terminal: str = "unknown"


@dataclass(frozen=True)
class Grant:
    """A valid access token: whose system it is and what it may do."""

    client_id: str
    system_id: str
    scopes: frozenset[str]
    expires_at: datetime
    system: DepartmentSystem

    def actor(self) -> Actor:
        return system_actor(self.system, "pull", self.client_id)


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc,unused-ignore]
    """A registered department system as Authlib sees it."""

    client_id: str
    system_id: str
    scopes: frozenset[str]
    secret: str = field(repr=False)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        asked = set(scope_to_list(scope) or self.scopes)
        return " ".join(sorted(asked & self.scopes))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Desk:
    """The token endpoint, introspection and the bearer check, over the register's unit of work."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: Keys,
        token_ttl_seconds: int = 300,
        assertion_max_seconds: int = 3600,
        audiences: tuple[str, ...] = (),
    ) -> None:
        self.uow = uow_factory
        self.keys = keys
        self.token_ttl = token_ttl_seconds
        self.assertion_max = assertion_max_seconds
        self.audiences = audiences

    # --- registration (the administrator) -----------------------------------------------------------------------

    def register(self, actor: Actor, system_id: str, client_id: str | None = None) -> dict[str, Any]:
        """A new client for a system of the policy, with the scopes its rows give. The secret is shown once, here."""
        authorize(self.uow, actor, STAFF_ADMIN, "transfer:client:register")
        system = system_of(self.uow, system_id)
        client_id = client_id or f"{system.system_id}-{secrets.token_hex(4)}"
        if (
            not client_id.isascii()
            or not 3 <= len(client_id) <= 40
            or not client_id.replace("-", "").isalnum()
        ):
            raise InvalidField("client_id は英数字とハイフン3〜40文字です", "client_id")
        salt = secrets.token_urlsafe(32)
        with self.uow() as uow:
            store = store_of(uow)
            if store.client(client_id) is not None:
                raise Conflict("この client_id は登録済みです", "client_id")
            store.add_client(
                {
                    "client_id": client_id,
                    "system_id": system.system_id,
                    "department": system.department,
                    "scopes": sorted(system.scopes),
                    "secret_salt": salt,
                    "created_at": uow.now,
                    "created_by": actor.staff_id,
                }
            )
            uow.log(actor, LogEntry("transfer:client:register", detail=f"{client_id} {system.name}"))
            uow.commit()
        return {
            "role": ROLE,
            "department": system.department,
            "system_id": system.system_id,
            "client_id": client_id,
            "client_secret": self.keys.client_secret(client_id, salt),
            "scopes": sorted(system.scopes),
        }

    def revoke(self, actor: Actor, client_id: str) -> None:
        authorize(self.uow, actor, STAFF_ADMIN, "transfer:client:revoke")
        with self.uow() as uow:
            if not store_of(uow).revoke_client(client_id, actor.staff_id, uow.now):
                raise NotFound("有効なクライアントがありません", "client_id")
            uow.log(actor, LogEntry("transfer:client:revoke", detail=client_id))
            uow.commit()

    def client(self, client_id: str) -> Client | None:
        """An active client, with the scopes its system has now (a narrowed policy narrows its tokens)."""
        with self.uow() as uow:
            return self._client_in(uow, client_id)

    def _client_in(self, uow: UnitOfWork, client_id: str) -> Client | None:
        row = store_of(uow).client(client_id)
        if row is None or row.revoked_at is not None:
            return None
        system = policy_in(uow).system(row.system_id)
        if system is None:
            return None
        scopes = frozenset(row.scopes) & system.scopes
        return Client(
            row.client_id, row.system_id, scopes, self.keys.client_secret(row.client_id, row.secret_salt)
        )

    # --- the endpoints --------------------------------------------------------------------------------------------

    def token(self, request: TokenRequest) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """POST /oauth/token: (status, JSON body, headers) as RFC 6749 §5 answers."""
        server = _Server(self, request)
        try:
            status, body, headers = server.create_token_response(request)
        except OAuth2Error as error:  # raised before Authlib's own handling: an insecure transport
            status, body, headers = server.handle_response(*error())
        self._log("transfer:token", server, status, body, request)
        return status, body, headers

    def introspect(self, request: TokenRequest) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """POST /oauth/introspect (RFC 7662)."""
        server = _Server(self, request)
        try:
            status, body, headers = server.create_endpoint_response(
                IntrospectionEndpoint.ENDPOINT_NAME, request
            )
        except OAuth2Error as error:
            status, body, headers = server.handle_response(*error())
        self._log("transfer:introspect", server, status, body, request)
        return status, body, headers

    def _log(
        self, action: str, server: _Server, status: int, body: Mapping[str, Any], request: TokenRequest
    ) -> None:
        client = server.authenticated
        if status == 200 and client is not None:
            system = system_of(self.uow, client.system_id)
            with self.uow() as uow:
                detail = f"scope={body.get('scope', '')}" if action == "transfer:token" else ""
                uow.log(
                    system_actor(system, request.terminal, client.client_id), LogEntry(action, detail=detail)
                )
                uow.commit()
            return
        reason = f"{body.get('error', 'error')}: {body.get('error_description', '')}"
        log_refusal(
            self.uow, client.system_id if client else None, action, reason, request.terminal,
            client.client_id if client else None,
        )  # fmt: skip

    # --- the bearer check of the resource servers ------------------------------------------------------------------

    def bearer(self, token: str) -> Grant | None:
        """The grant of a valid, unexpired access token; None for anything else (a staff token included)."""
        with self.uow() as uow:  # one transaction: a poll's check is on the feed's latency path
            row = store_of(uow).token(_digest(token))
            if row is None or utc(row.expires_at) <= uow.now:
                return None
            client = self._client_in(uow, row.client_id)
            if client is None or client.system_id != row.system_id:
                return None  # revoked since, or the system left the policy
            system = system_in(uow, row.system_id)
        scopes = frozenset(scope_to_list(row.scope) or ()) & client.scopes
        return Grant(row.client_id, row.system_id, scopes, utc(row.expires_at), system)

    # --- cursors ---------------------------------------------------------------------------------------------------

    def cursor(self, system_id: str, position: int) -> str:
        """An opaque cursor bound to the system: another system's, or a forged one, is refused."""
        return f"{position}.{self.keys.cursor_mac(system_id, position)}"

    def position(self, system_id: str, cursor: str | None, head: int | None = None) -> int:
        """The position a cursor stands for; `head` given: one beyond it is refused too."""
        if cursor in (None, "", "0"):
            return 0
        assert cursor is not None
        number, _, mac = cursor.partition(".")
        valid = (
            number.isdigit()
            and len(number) <= 18
            and hmac.compare_digest(mac.encode(), self.keys.cursor_mac(system_id, int(number)).encode())
        )
        if not valid:
            raise InvalidCursor("このシステムに発行したカーソルではありません")
        if head is not None and int(number) > head:
            raise InvalidCursor("カーソルが連携の末尾より先です")
        return int(number)


class InvalidCursor(InvalidField):
    """API.md: a cursor not issued to this client, or beyond the end → 400 invalid_field (field `after`)."""

    status = 400
    default_field = "after"


class Expired(Unauthenticated):
    default_message = "アクセストークンが無効か期限切れです"


class StaffTokenOnFeed(Forbidden):
    default_message = "庁内連携は業務システムのクライアント資格情報でのみ利用できます"


# --- Authlib's server, per request -------------------------------------------------------------------------------


class _Assertion(JWTBearerClientAssertion):  # type: ignore[misc,unused-ignore]
    """client_secret_jwt (RFC 7523 §2.2): HS256 with the client's secret; the jti once; a short lifetime."""

    CLIENT_AUTH_METHOD = "client_secret_jwt"

    def __init__(self, desk: Desk, audiences: list[str]) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.desk = desk
        self._audiences = audiences

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: Client) -> OctKey:
        return OctKey.import_key(client.secret.encode())

    def validate_jti(self, claims: Mapping[str, Any], jti: str) -> bool:
        if not isinstance(jti, str) or not 1 <= len(jti) <= 200:
            return False
        with self.desk.uow() as uow:
            now = uow.now
            expires = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
            if expires - now > timedelta(seconds=self.desk.assertion_max):
                raise InvalidClientError(description="The assertion lives too long.")
            fresh = store_of(uow).use_assertion(str(claims["sub"]), jti, expires, now)
            uow.commit()
        return fresh


class _Grant(ClientCredentialsGrant):  # type: ignore[misc,unused-ignore]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        asked = set(scope_to_list(self.request.payload.scope) or ())
        if not asked <= set(self.request.client.scopes):
            raise InvalidScopeError()


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc,unused-ignore]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        with self.server.desk.uow() as uow:
            return store_of(uow).token(_digest(token_string))

    def check_permission(self, token: Any, client: Client, request: OAuth2Request) -> bool:
        return bool(token.client_id == client.client_id)  # its own tokens only

    def create_introspection_payload(self, token: Any) -> dict[str, Any]:
        if not token:
            return {"active": False}
        with self.server.desk.uow() as uow:
            now = uow.now
        if utc(token.expires_at) <= now or self.server.desk.client(token.client_id) is None:
            return {"active": False}
        return self.introspect_token(token)

    def introspect_token(self, token: Any) -> dict[str, Any]:
        return {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": "Bearer",
            "exp": int(utc(token.expires_at).timestamp()),
            "iat": int(utc(token.issued_at).timestamp()),
            "sub": token.system_id,
            "aud": "juki",
        }


class _Request(OAuth2Request):  # type: ignore[misc,unused-ignore]
    def __init__(self, request: TokenRequest) -> None:
        super().__init__("POST", request.uri, headers=request.headers)  # case-insensitive (Starlette)
        self.payload = BasicOAuth2Payload(dict(request.form))
        self._form = dict(request.form)

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):  # type: ignore[misc,unused-ignore]
    """Built per request: the assertion's audiences are the URL this request came to (and the configured ones)."""

    def __init__(self, desk: Desk, request: TokenRequest) -> None:
        super().__init__(scopes_supported=None)
        self.desk = desk
        self.authenticated: Client | None = None
        self.register_client_auth_method(
            "client_secret_jwt", _Assertion(desk, [request.uri, *desk.audiences])
        )
        self.register_grant(_Grant)
        self.register_endpoint(_Introspection)
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> Client | None:
        client = self.desk.client(client_id) if isinstance(client_id, str) and len(client_id) <= 40 else None
        return client

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "after_authenticate_client":
            self.authenticated = kwargs.get("client")

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> Client:
        client: Client = super().authenticate_client(request, methods, endpoint)
        self.authenticated = client
        return client

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def handle_response(
        self, status: int, body: Any, headers: Any
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return status, dict(body), list(headers)

    def _generate(
        self, grant_type: str, client: Client, scope: str | None = None, **_: Any
    ) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": generate_token(43),
            "expires_in": self.desk.token_ttl,
            "scope": client.get_allowed_scope(scope),
        }

    def save_token(self, token: Mapping[str, Any], request: OAuth2Request) -> None:
        client: Client = request.client
        with self.desk.uow() as uow:
            store_of(uow).add_token(
                {
                    "token_hash": _digest(token["access_token"]),
                    "client_id": client.client_id,
                    "system_id": client.system_id,
                    "scope": token["scope"],
                    "issued_at": uow.now,
                    "expires_at": uow.now + timedelta(seconds=int(token["expires_in"])),
                }
            )
            uow.commit()
