"""Settings: the only reader of the environment (`JUKI_*`)."""

from __future__ import annotations

import ipaddress

from argon2.profiles import RFC_9106_LOW_MEMORY
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from juki.domain.intake import CITY_CODE

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# argon2id as argon2-cffi recommends it (RFC 9106 §4, the second recommended option: t=3, 64 MiB, p=4).
_ARGON2 = RFC_9106_LOW_MEMORY


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JUKI_")

    database_url: str = "var/juki.db"
    # The My Number key file (adapters/vault.py). Unset: next to the SQLite file, or var/juki-keys.json.
    key_file: str | None = None
    token_ttl_seconds: int = 8 * 3600
    max_failed_logins: int = 5  # lock-out after this many failures in a row (an administrator unlocks)
    login_rate_limit: int = 10  # failed sign-ins per terminal per minute before further attempts are refused
    bulk_output_threshold: int = 100  # outputs of more persons than this need a data controller's approval
    idle_lock_seconds: int = 300
    # SQLite: how long a unit of work waits for another's write lock (each takes it at BEGIN) before it gives up
    # with `conflict`.
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)
    # Password hashing (argon2id) for new hashes; a stored hash is checked with the parameters it was made with.
    # Never set these lower in production: the test suite does (its sign-ins would otherwise take most of its time).
    password_hash_time_cost: int = Field(default=_ARGON2.time_cost, ge=1)
    password_hash_memory_kib: int = Field(default=_ARGON2.memory_cost, ge=8)
    password_hash_parallelism: int = Field(default=_ARGON2.parallelism, ge=1)
    # The auditor's reports: business hours in Japan time ([start, end) is inside) and thresholds.
    audit_business_start: str = "08:30"
    audit_business_end: str = "17:15"
    audit_mass_window_minutes: int = 60  # the sliding window of the mass-search report
    audit_mass_searches: int = 30  # more searches than this in one window
    audit_mass_persons: int = 50  # more distinct persons shown than this in one window
    audit_large_search_results: int = 20  # one search showing more persons than this
    audit_related_days: int = 7  # a view is related to the same staff's filing for the person within ± days
    audit_report_max_rows: int = 10000  # longer reports are cut and marked truncated
    # Where printed QR codes send a reader to check a certificate (/verify/<n>): the city's public address, never
    # taken from a request's Host header (which a caller chooses).
    public_base_url: str = "http://localhost:8000/"
    webauthn_rp_id: str = "localhost"
    webauthn_origin: str = "http://localhost:8000"
    webauthn_rp_name: str = "juki 住民基本台帳"
    # コンビニ交付: service hours in Japan time ([start, end); "24:00" is midnight), closed 12/29–1/3,
    # the trust anchors (card-ca.pem: J-LIS's user-certificate CA; kiosk-ca.pem: the CA of the kiosks' client
    # certificates; unset: `kiosk-pki/` beside the SQLite file, or var/kiosk-pki) and a card session's lifetime.
    # A kiosk's certificate is the register's like any other: its QR code points at public_base_url.
    kiosk_hours_start: str = "06:30"
    kiosk_hours_end: str = "23:00"
    kiosk_year_end_closed: bool = True
    kiosk_pki_dir: str | None = None
    kiosk_session_seconds: int = 300
    # The TLS terminators (reverse proxies, e.g. nginx) that may hand the kiosk API a kiosk's client certificate in
    # the X-SSL-Client-Cert header (nginx $ssl_client_escaped_cert): IPs or CIDRs, comma-separated. Empty (the
    # default): the header is never taken, only the certificate of the app's own TLS connection.
    trusted_proxies: str = ""
    # The city's CS (市町村CS, docs/cs.md): its own database (unset: beside the register's, cs/adapters/cs_db.py);
    # where the prefecture server answers (the path of a juki-net.json; unset: no link, notices stay queued); how
    # often the relay takes in the register's changes and delivers; the city's 市町村コード (本人確認情報 item 8).
    cs_database_url: str | None = None
    cs_key_file: str | None = None  # the CS's own My Number key file (unset: cs/adapters/cs_db.cs_key_file)
    juki_net_config: str | None = Field(
        default=None, validation_alias=AliasChoices("juki_net_config", "JUKI_NET_CONFIG")
    )  # JUKI_NET_CONFIG
    cs_relay_seconds: float = Field(default=2.0, gt=0)
    # The daily register↔CS comparison (standard j1100) runs at this hour, Japan time (and at start when overdue).
    cs_compare_hour: int = Field(default=2, ge=0, le=23)
    city_code: str = Field(default=CITY_CODE, pattern=r"^\d{6}$")
    # 住民票コード (標準仕様書 j870, docs/numbers.md): below this many unused codes the stock is low — the counter and
    # the CS are warned, and the CS asks J-LIS for a block of `resident_code_block_size` more.
    resident_code_stock_threshold: int = Field(default=200, ge=1)
    resident_code_block_size: int = Field(default=1000, ge=1, le=10000)
    # The city's 中間サーバー and 団体内統合宛名 function (docs/intermediate-server.md): its own database (unset: beside
    # the register's, intermediate/adapters/ims_db.py) and My Number key file; where the 情報提供ネットワークシステム
    # answers (the path of an info-network.json; unset: no link, only the intake runs); how often its relay passes.
    ims_database_url: str | None = None  # JUKI_IMS_DATABASE_URL
    ims_key_file: str | None = None  # JUKI_IMS_KEY_FILE
    info_network_config: str | None = None  # JUKI_INFO_NETWORK_CONFIG
    ims_relay_seconds: float = Field(default=2.0, gt=0)
    # 送付先情報 (個人番号カード省令23条の2; docs/mailing.md): the city's and the pick-up places' details printed on
    # the 個人番号通知書 and the card's 交付通知書, and the defaults of a record's print category and special
    # circumstance (標準仕様書: a record goes only once both are set; these make an ordinary one go at once).
    mailing_city_name: str = "小平市"
    mailing_city_postal_code: str = "187-8701"
    mailing_city_address: str = "東京都小平市小川町二丁目1333番地"
    mailing_city_phone: str = "042-341-1211"
    mailing_pickup_name: str = "小平市役所　市民課"
    mailing_pickup_postal_code: str = "187-8701"
    mailing_pickup_address: str = "東京都小平市小川町二丁目1333番地"
    mailing_pickup_phone: str = "042-341-1211"
    mailing_card_place_name: str = "小平市役所　市民課"
    mailing_card_place_postal_code: str = "187-8701"
    mailing_card_place_address: str = "東京都小平市小川町二丁目1333番地"
    mailing_print_category: str = "通常"
    mailing_special_circumstance: str = "なし"
    # 庁内連携 (docs/transfer.md): a department system's access token lives this long (no refresh token); a client
    # assertion (client_secret_jwt) may live at most this long; the pull API looks for new changes this often while
    # a long poll waits (one query per server process, however many systems wait).
    transfer_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    transfer_assertion_max_seconds: int = Field(default=3600, ge=30, le=86400)
    transfer_poll_seconds: float = Field(default=0.1, gt=0, le=5)
    # 庁内連携 by file and by push (docs/transfer-files-and-push.md): how long a system's files are kept, where the
    # department systems' own keys are (unset: `transfer-keys/` beside the register's key file), and the NATS
    # JetStream broker of the push (unset: no push; the pull API needs no broker).
    transfer_file_retention_days: int = Field(default=30, ge=1)
    transfer_key_dir: str | None = None
    nats_url: str | None = None
    nats_stream: str = Field(default="JUKI_TRANSFER", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    nats_subject_prefix: str = Field(default="juki.transfer", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")

    @model_validator(mode="after")
    def _argon2_memory(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:  # argon2's own lower bound
            raise ValueError(
                "JUKI_PASSWORD_HASH_MEMORY_KIB must be at least 8 × JUKI_PASSWORD_HASH_PARALLELISM"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        parse_networks(value)  # refused at start-up, not at the first kiosk request
        return value

    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """ "10.0.0.5, 192.168.10.0/24, ::1" → networks (an address is a network of one)."""
    found = []
    for part in text.split(","):
        if part.strip():
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"JUKI_TRUSTED_PROXIES: not an IP address or network: {part.strip()!r}"
                ) from None
    return tuple(found)


def load_settings(**overrides: object) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
