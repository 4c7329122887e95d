"""The register's tables (SQLAlchemy Core). Alembic migrations create them; a test checks the two agree.

History (`resident_versions`), the operation log and the outbox are append-only: triggers on both engines refuse
UPDATE and DELETE (see migration 0001). `residents` and `households` are the current state, kept in step with
the history in the same transaction, and carry a `version` for optimistic concurrency.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Counters: addressee/household number sequences, the outbox and log heads. Locking a row serialises writers
# at the point where order matters (outbox commit order, the log's hash chain).
counters = Table(
    "counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

households = Table(
    "households",
    metadata,
    Column("household_number", String(10), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("address", Text, nullable=False),
    Column("householder", String(10)),
    Column("member_count", Integer, nullable=False),
)

# A name's search key is NFKC of a name of at most 100 code points, and NFKC lengthens a character at most 18-fold.
NAME_KEY_LENGTH = 2000


def _name_key_indexes(table: str, with_birth_date: bool) -> list[Index]:
    """Indexes of the names' search keys (j340; migration 0012): 氏 and 名 (with the birth date on `residents`, which
    the two-criteria search nearly always gives), and the 通称 and 併記名 of the few who have one (partial)."""
    pattern = "varchar_pattern_ops"  # a 前方一致 (LIKE 'x%') uses them on PostgreSQL whatever the collation
    indexes = [
        Index(
            f"ix_{table}_{column}",
            column,
            *(["birth_date"] if with_birth_date else []),
            postgresql_ops={column: pattern},
        )
        for column in ("family_name_key", "given_name_key")
    ]
    for column in ("alias_name_key", "parallel_name_key"):
        present = text(f"{column} IS NOT NULL")
        indexes.append(
            Index(
                f"ix_{table}_{column}",
                column,
                postgresql_ops={column: pattern},
                postgresql_where=present,
                sqlite_where=present,
            )
        )
    return indexes


residents = Table(
    "residents",
    metadata,
    Column("addressee_number", String(10), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("household_number", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("relationship", String(40), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("family_kana_key", String(200), nullable=False),
    Column("given_kana_key", String(200), nullable=False),
    # Search keys of the names (domain.names.name_search_key / joined_name_key; migration 0012).
    Column("family_name_key", String(NAME_KEY_LENGTH), nullable=False),
    Column("given_name_key", String(NAME_KEY_LENGTH), nullable=False),
    Column("alias_name_key", String(NAME_KEY_LENGTH)),
    Column("parallel_name_key", String(NAME_KEY_LENGTH)),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(6), nullable=False),
    Column("address", Text, nullable=False),
    Column("resident_code", String(11)),
    # My Number at rest (adapters/vault.py, migration 0002): AES-GCM token and keyed-hash index for look-up.
    Column("my_number_ciphertext", Text),
    Column("my_number_index", String(64)),
    Column("residence_card_number", String(12)),
    Column("last_changed_on", Date, nullable=False),
    Column("record", JSON, nullable=False),
    ForeignKeyConstraint(["household_number"], ["households.household_number"]),
    UniqueConstraint("resident_code"),
    UniqueConstraint("my_number_index"),
    # Names and kana keys: varchar_pattern_ops on PostgreSQL, so a 前方一致 (LIKE 'x%') uses them too (0008).
    Index(
        "ix_residents_family_name_birth",
        "family_name",
        "birth_date",
        postgresql_ops={"family_name": "varchar_pattern_ops"},
    ),
    *_name_key_indexes("residents", with_birth_date=True),
    Index(
        "ix_residents_family_kana_key",
        "family_kana_key",
        postgresql_ops={"family_kana_key": "varchar_pattern_ops"},
    ),
    Index(
        "ix_residents_given_kana_key",
        "given_kana_key",
        postgresql_ops={"given_kana_key": "varchar_pattern_ops"},
    ),
    Index("ix_residents_birth_date", "birth_date"),
    Index("ix_residents_household", "household_number", "position"),
    Index("ix_residents_residence_card_number", "residence_card_number"),
)

resident_versions = Table(
    "resident_versions",
    metadata,
    Column("addressee_number", String(10), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("household_number", String(10), nullable=False),
    Column("change_reason", String(20), nullable=False),
    Column("changed_on", Date, nullable=False),
    Column("filed_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("filing_id", String(40), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("family_kana_key", String(200), nullable=False),
    Column("given_kana_key", String(200), nullable=False),
    Column("family_name_key", String(NAME_KEY_LENGTH), nullable=False),
    Column("given_name_key", String(NAME_KEY_LENGTH), nullable=False),
    Column("alias_name_key", String(NAME_KEY_LENGTH)),
    Column("parallel_name_key", String(NAME_KEY_LENGTH)),
    Column("address", Text, nullable=False),
    Column("record", JSON, nullable=False),
    Column("my_number_ciphertext", Text),  # history keeps the token it was written with (append-only)
    Column("my_number_index", String(64)),
    Index("ix_resident_versions_filing", "filing_id"),
    # Searching earlier names (j340, migration 0008); pattern ops on PostgreSQL as for `residents`.
    Index(
        "ix_resident_versions_family_kana_key",
        "family_kana_key",
        postgresql_ops={"family_kana_key": "varchar_pattern_ops"},
    ),
    Index(
        "ix_resident_versions_given_kana_key",
        "given_kana_key",
        postgresql_ops={"given_kana_key": "varchar_pattern_ops"},
    ),
    *_name_key_indexes("resident_versions", with_birth_date=False),
)

filings = Table(
    "filings",
    metadata,
    Column("filing_id", String(40), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("change_reason", String(20)),
    Column("changed_on", Date),
    Column("filed_on", Date, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("household_number", String(10)),
    Column("staff_id", String(40), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("approval_state", String(10), nullable=False),  # none / pending / approved / returned
    Column("approved_by", String(40)),
    Column("decided_at", DateTime(timezone=True)),
    Column("reason", Text),
    # The command as entered, for review and for applying an approved ex officio change. Any My Number in it is
    # kept in `secret_payload` only, never in `payload`: there as one vault token of the JSON (adapters/vault.py).
    Column("payload", JSON, nullable=False),
    Column("secret_payload", JSON),
    Index("ix_filings_late", "late", "filed_on"),
    Index("ix_filings_approval_state", "approval_state"),
)

operation_log = Table(
    "operation_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("staff_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("terminal", String(100), nullable=False),
    Column("procedure", String(60), nullable=False),
    Column("action", String(60), nullable=False),
    Column("targets", JSON, nullable=False),
    Column("my_number_shown", Boolean, nullable=False),
    Column("result", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The entry's facts as data (a search's criteria names, a list's size …) for the audit reports; NULL before.
    Column("facts", JSON),
    Index("ix_operation_log_at", "at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event", String(40), nullable=False),
    Column("addressee_number", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("household_number", String(10), nullable=False),
    Column("change_reason", String(20), nullable=False),
    Column("changed_on", Date, nullable=False),
    Column("filing_id", String(40), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # The event the domain emitted (docs/events.md). NULL body: a row written before events had one.
    Column("schema_version", Integer, nullable=False, server_default="1"),
    Column("filed_on", Date),
    Column("payload", JSON),
    Column(
        "my_number_sealed", Text
    ),  # the event key's token; only consumers with the legal basis hold the key
    ForeignKeyConstraint(
        ["addressee_number", "version"], ["resident_versions.addressee_number", "resident_versions.version"]
    ),
)

subscriber_cursors = Table(
    "subscriber_cursors",
    metadata,
    Column("subscriber", String(60), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("staff_id", String(40), primary_key=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("department", String(60)),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("is_demo", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("last_otp_step", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True)),  # j1380 validity period; contractors' accounts end (0003)
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("terminal", String(100), nullable=False),
    ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Text, nullable=False),
)

# --- the risk controls (migration 0003) ---------------------------------------------------------------

# A contractor's (委託先) work order: which procedure, which permissions (a subset of what the procedure lets a
# contractor have), for which period; given by a supervisor, revocable. The account can do nothing else.
work_orders = Table(
    "work_orders",
    metadata,
    Column("order_id", String(40), primary_key=True),
    Column("contractor_id", String(40), nullable=False),
    Column("procedure", String(40), nullable=False),
    Column("permissions", JSON, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("issued_by", String(40), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["contractor_id"], ["staff.staff_id"]),
    Index("ix_work_orders_contractor", "contractor_id"),
)

# 支援措置 (j160, j440): a person or a household under protection. The period does not end the measure by itself
# (j410); a temporary release (一時解除) does end by itself at `released_until`.
protection_measures = Table(
    "protection_measures",
    metadata,
    Column("measure_id", String(40), primary_key=True),
    Column("subject_kind", String(10), nullable=False),  # person / household
    Column("subject", String(10), nullable=False),  # addressee or household number
    Column("reason", Text, nullable=False),
    Column("requester", Text, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("provisional", Boolean, nullable=False),  # 仮支援措置: same effect until decided
    Column("state", String(10), nullable=False),  # active / ended
    Column("ended_on", Date),
    Column("end_reason", Text),
    Column("released_until", DateTime(timezone=True)),
    Column("release_reason", Text),
    Column("version", Integer, nullable=False),
    Column("created_by", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # j410 (migration 0007): what the measure holds and how. 支援措置 hold certificates and views, blocking.
    Column("kind", String(10), nullable=False, server_default="support"),  # support / hold
    Column("operations", JSON, nullable=False, server_default='["certificate", "view"]'),
    Column("level", String(10), nullable=False, server_default="error"),  # error blocks, alert warns
    Index("ix_protection_measures_subject", "subject", "state"),
)

# Alerts to supervisors (every access to a protected record, …); acknowledged, never deleted.
alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(40), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject", String(10)),
    Column("staff_id", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("acknowledged_by", String(40)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Index("ix_alerts_open", "acknowledged_at", "at"),
)

# Bulk output (大量のデータ出力): above the threshold it waits for a data controller's approval (requester ≠
# approver) and runs once.
bulk_outputs = Table(
    "bulk_outputs",
    metadata,
    Column("output_id", String(40), primary_key=True),
    Column("requested_by", String(40), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("procedure", String(40), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("person_count", Integer, nullable=False),
    Column("state", String(10), nullable=False),  # pending / approved / rejected / done
    Column("decided_by", String(40)),
    Column("decided_at", DateTime(timezone=True)),
    Column("comment", Text),
    Column("completed_at", DateTime(timezone=True)),
    Column("sha256", String(64)),
)

# Media export records (媒体出力の記録): who, witnessed by whom, why, how many items, which file. Append-only.
media_exports = Table(
    "media_exports",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("witness_id", String(40), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("medium", String(40), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("output_id", String(40)),
)

APPEND_ONLY = (
    "resident_versions",
    "operation_log",
    "outbox",
    "media_exports",
    "certificate_issuances",
    "certificate_disposals",
    "certificate_settings",
    "certificate_overflows",
)

# --- WebAuthn (migration 0004) ---
# The strong factor (services/webauthn.py). A staff member's authenticators: the public key and the
# signature counter, which must grow with every sign-in (a counter that does not marks a cloned authenticator).
# Deactivated, never deleted. Ids and keys are base64url text.
webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("credential_id", String(1400), primary_key=True),  # a raw id is at most 1023 bytes
    Column("staff_id", String(40), nullable=False),
    Column("public_key", Text, nullable=False),  # COSE key
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", JSON, nullable=False),
    Column("aaguid", String(36), nullable=False),  # the authenticator's model
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
    Column("deactivated_at", DateTime(timezone=True)),
    Column("deactivated_by", String(40)),
    ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
    Index("ix_webauthn_credentials_staff", "staff_id"),
)

# One-time challenges, kept server-side: bound to one staff member and one purpose (register / authenticate),
# used once (`used_at`), expiring after a few minutes. A registration opened with an enrolment code names it.
webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("challenge_id", String(64), primary_key=True),
    Column("staff_id", String(40), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("challenge", String(100), nullable=False),
    Column("enrolment_code_id", String(40)),
    Column("terminal", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
    Index("ix_webauthn_challenges_expires_at", "expires_at"),
)

# An administrator's one-time enrolment code (kept as a hash): with password and one-time code it lets a staff
# member register an authenticator without a session — the only way a CS operator's authenticator is registered.
webauthn_enrolment_codes = Table(
    "webauthn_enrolment_codes",
    metadata,
    Column("code_id", String(40), primary_key=True),
    Column("staff_id", String(40), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("issued_by", String(40), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),  # a newer code for the same account replaces it
    ForeignKeyConstraint(["staff_id"], ["staff.staff_id"]),
    UniqueConstraint("code_hash"),
    Index("ix_webauthn_enrolment_codes_staff", "staff_id"),
)

# Which authenticator opened a session: a CS operator's session counts only while it has one that is active.
webauthn_sessions = Table(
    "webauthn_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("credential_id", String(1400), nullable=False),
    ForeignKeyConstraint(["token_hash"], ["sessions.token_hash"]),
    ForeignKeyConstraint(["credential_id"], ["webauthn_credentials.credential_id"]),
)

# --- data-subject requests (migration 0005) ---
from sqlalchemy import cast  # noqa: E402
from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

# 開示・訂正・利用停止請求 (seed IV-1): who asked, about whom, how their identity was checked (the kind of document
# only, never its number), the period and its one extension, the decision and the written answer. `version` guards
# each step against a concurrent one.
subject_requests = Table(
    "subject_requests",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # disclosure / correction / suspension
    Column("addressee_number", String(10), nullable=False),
    Column("requester_type", String(30), nullable=False),  # self / legal_representative / agent
    Column("requester_name", Text, nullable=False),
    Column("requester_relationship", Text),
    Column("identity_document", String(60), nullable=False),
    Column("authority_document", String(60)),
    Column("identity_checked_by", String(40), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("initial_due_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),  # the current last day (after any extension)
    Column("request_text", Text, nullable=False),
    Column("include_my_number", Boolean, nullable=False),  # a disclosure request that asks for the own number
    Column("state", String(20), nullable=False),  # received / extended / decided / answered
    Column("extension_days", Integer),
    Column("extension_reason", Text),
    Column("extended_by", String(40)),
    Column("extended_at", DateTime(timezone=True)),
    Column("decision", String(20)),
    Column("decision_reason", Text),
    Column("decided_on", Date),  # the decision's date (決定日), as the notice states it
    Column("correction_filing_id", String(40)),
    Column("decided_by", String(40)),
    Column("decided_at", DateTime(timezone=True)),
    Column("answered_on", Date),
    Column("answered_by", String(40)),
    Column("answered_at", DateTime(timezone=True)),
    Column("created_by", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_subject_requests_addressee", "addressee_number"),
    Index("ix_subject_requests_open", "state", "due_on"),
)

# The disclosure package finds one person's entries in the operation log and the outbox without reading them all:
# on PostgreSQL a GIN index on the log's targets (JSON containment); on SQLite, which has no index for a value
# inside a JSON array, the query narrows by time instead (adapters/subject_request_store.py). Alembic skips this
# expression index when comparing on SQLite, where migration 0005 does not create it.
Index(
    "ix_operation_log_targets",
    cast(operation_log.c.targets, JSONB),
    postgresql_using="gin",
    postgresql_ops={"targets": "jsonb_path_ops"},
)
Index("ix_outbox_addressee", outbox.c.addressee_number, outbox.c.seq)

# --- certificates (migration 0009) ---
# 交付履歴 (標準仕様書 j300): one row per copy issued — when, which kind, whose record (addressee numbers only), which
# items were printed, whether a My Number was, the terminal, the staff member, the requester's type, the fee, the
# channel and the SHA-256 of the PDF handed over. No names, no numbers printed, no PDF. Append-only, like
# the disposals (処分情報: a wrongly issued certificate taken back) that refer to it.
certificate_issuances = Table(
    "certificate_issuances",
    metadata,
    Column("issuance_number", String(20), primary_key=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("layout", String(20), nullable=False),
    Column("household_number", String(10)),
    Column("addressee_numbers", JSON, nullable=False),
    Column("items", JSON, nullable=False),
    Column("my_number_printed", Boolean, nullable=False),
    Column("copy_no", Integer, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("channel", String(20), nullable=False),  # counter (窓口) / kiosk (コンビニ交付)
    Column("office", String(40), nullable=False),
    Column("terminal", String(100), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("requester_type", String(20), nullable=False),
    Column("requester_addressee_number", String(10)),
    Column("identity_document", String(60)),
    Column("purpose", Text, nullable=False),
    Column("fee", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("printer", String(20)),  # j1040 (migration 0011)
    Index("ix_certificate_issuances_issued_on", "issued_on"),
)
certificate_disposals = Table(
    "certificate_disposals",
    metadata,
    Column("issuance_number", String(20), primary_key=True),
    Column("disposed_at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    ForeignKeyConstraint(["issuance_number"], ["certificate_issuances.issuance_number"]),
)

# --- certificate settings and the 文字超過リスト (migration 0011) ---
# The city's certificate settings (domain/certificate_settings.py) as versions: the newest is in force; a change is a
# new version with who and why, never an update. The overflow list: the fields of an issuance that did not fit once
# shrunk or had characters no font has (j1070), with the whole text for the clerk. Both append-only.
certificate_settings = Table(
    "certificate_settings",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("settings", JSON, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(40), nullable=False),
    Column("reason", Text, nullable=False),
)
certificate_overflows = Table(
    "certificate_overflows",
    metadata,
    Column("issuance_number", String(20), primary_key=True),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("issued_on", Date, nullable=False),
    Column("addressee_number", String(10)),
    Column("item", String(60), nullable=False),
    Column("problem", String(10), nullable=False),  # overflow / gaiji
    Column("text", Text, nullable=False),
    ForeignKeyConstraint(["issuance_number"], ["certificate_issuances.issuance_number"]),
    Index("ix_certificate_overflows_issued_on", "issued_on"),
)

# --- コンビニ交付 (migration 0010) ---
# Kiosks (MFPs) are registered systems: each is known by its id and its client certificate's SHA-256 (pinned: a
# certificate the kiosk CA signed but the city did not register is refused). Cards: which resident holds which My
# Number card, by the serial of its 利用者証明用電子証明書 (the certificate names nobody), its validity, its state
# and the PIN-failure count that locks it across kiosks. Revocations: the serials on J-LIS's revocation list, as
# imported (append-only). Challenges are single-use and short-lived; a session is one card at one kiosk.
kiosks = Table(
    "kiosks",
    metadata,
    Column("kiosk_id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("cert_sha256", String(64), nullable=False),
    Column("state", String(10), nullable=False),  # active / retired
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(40), nullable=False),
)
kiosk_cards = Table(
    "kiosk_cards",
    metadata,
    Column("serial", String(40), primary_key=True),  # the user certificate's serial number, hex
    Column("addressee_number", String(10), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("state", String(10), nullable=False),  # active / suspended / revoked
    Column("pin_failures", Integer, nullable=False),
    Column("locked_at", DateTime(timezone=True)),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(40), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["addressee_number"], ["residents.addressee_number"]),
    Index("ix_kiosk_cards_addressee", "addressee_number"),
)
card_revocations = Table(
    "card_revocations",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)
kiosk_challenges = Table(
    "kiosk_challenges",
    metadata,
    Column("challenge_id", String(40), primary_key=True),
    Column("kiosk_id", String(32), nullable=False),
    Column("challenge", String(64), nullable=False),  # 32 random bytes, base64
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
    Index("ix_kiosk_challenges_expires_at", "expires_at"),
)
kiosk_sessions = Table(
    "kiosk_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kiosk_id", String(32), nullable=False),
    Column("serial", String(40), nullable=False),
    Column("addressee_number", String(10), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["kiosk_id"], ["kiosks.kiosk_id"]),
    ForeignKeyConstraint(["serial"], ["kiosk_cards.serial"]),
    Index("ix_kiosk_sessions_expires_at", "expires_at"),
)
KIOSK_APPEND_ONLY = ("card_revocations",)


# The clerk UI's certificate hand-over (working state, not history): a confirmation's token claimed once by its
# 発行 button, and the issued PDF, sealed with the UI key, until its one fetch (web/ui/certificate_pages.py).
ui_certificate_handovers = Table(
    "ui_certificate_handovers",
    metadata,
    Column("token", String(40), primary_key=True),
    Column("staff_id", String(40), nullable=False),
    Column("state", String(10), nullable=False),  # pending, busy, done, failed
    Column("issuance_number", String(20)),
    Column("pdf_sealed", LargeBinary),
    Column("summary", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True)),
    Column("issued_at", DateTime(timezone=True)),
    Index("ix_ui_certificate_handovers_created_at", "created_at"),
    Index("ix_ui_certificate_handovers_issuance_number", "issuance_number"),
)

# --- 住民票コード stock, 個人番号 requests, 送付先情報 (migration 0016; docs/numbers.md) ---------------------------

# The unused 住民票コード J-LIS gave the city through the CS (標準仕様書 j870); a use takes one, once.
resident_code_stock = Table(
    "resident_code_stock",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("block_id", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_resident_code_stock_block_id", "block_id"),
)
resident_code_uses = Table(
    "resident_code_uses",
    metadata,
    Column("code", String(11), primary_key=True),
    Column("addressee_number", String(10), nullable=False),
    Column("filing_id", String(40), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["code"], ["resident_code_stock.code"]),
)
# 個人番号 生成要求 (番号法8条) and 変更請求 (7条2項) made of J-LIS through the CS, and how each was closed.
my_number_requests = Table(
    "my_number_requests",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("kind", String(10), nullable=False),  # 生成 or 変更
    Column("addressee_number", String(10), nullable=False),
    Column("resident_code", String(11), nullable=False),
    Column("filing_id", String(40), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    Index("ix_my_number_requests_addressee_number", "addressee_number"),
)
my_number_request_answers = Table(
    "my_number_request_answers",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("outcome", String(10), nullable=False),  # assigned or refused
    Column("filing_id", String(40)),
    Column("code", String(60)),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["request_id"], ["my_number_requests.request_id"]),
)
# 送付先情報 (the 31 items, never a 個人番号) and what became of each record; a 居所 registered for delivery.
mailing_records = Table(
    "mailing_records",
    metadata,
    Column("record_id", String(40), primary_key=True),
    Column("addressee_number", String(10), nullable=False),
    Column("resident_code", String(11), nullable=False),
    Column("request_id", String(40)),
    Column("items", JSON, nullable=False),
    Column("print_category", String(20), nullable=False),
    Column("special_circumstance", String(20), nullable=False),
    Column("state", String(10), nullable=False),  # as built: ready or held
    Column("hold_reason", String(60)),
    Column("built_at", DateTime(timezone=True), nullable=False),
    Index("ix_mailing_records_addressee_number", "addressee_number"),
)
mailing_record_events = Table(
    "mailing_record_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(40), nullable=False),
    Column("state", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("detail", JSON),
    ForeignKeyConstraint(["record_id"], ["mailing_records.record_id"]),
    Index("ix_mailing_record_events_record_id_id", "record_id", "id"),
)
delivery_residences = Table(
    "delivery_residences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("addressee_number", String(10), nullable=False),
    Column("postal_code", String(8)),
    Column("address", Text),  # null: the registration ended
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Index("ix_delivery_residences_addressee_number_id", "addressee_number", "id"),
)
NUMBERS_APPEND_ONLY = (
    "resident_code_stock",
    "resident_code_uses",
    "my_number_requests",
    "my_number_request_answers",
    "mailing_records",
    "mailing_record_events",
    "delivery_residences",
)

# --- 個人番号カード at the counter: 交付申請 and what became of each (migration 0017; docs/cards.md) ---------------
# An application never changes; each step is an event (J-LIS's report, the counter's 交付通知書, 交付 or 廃止) and
# the state is the latest. The user certificate J-LIS reported at 市区町村到着 rides on that event (PEM, public). After
# 交付 the card's state is kiosk_cards'. Both append-only.
card_applications = Table(
    "card_applications",
    metadata,
    Column("application_id", String(20), primary_key=True),
    Column("addressee_number", String(10), nullable=False),
    Column("kind", String(10), nullable=False),  # new / reissue / renewal
    Column("channel", String(10), nullable=False),  # counter / online / mail
    Column("applied_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(40), nullable=False),
    ForeignKeyConstraint(["addressee_number"], ["residents.addressee_number"]),
    Index("ix_card_applications_addressee_number", "addressee_number"),
)
card_application_events = Table(
    "card_application_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("staff_id", String(40), nullable=False),
    Column("serial", String(40)),
    Column("certificate", Text),
    Column("detail", JSON),
    ForeignKeyConstraint(["application_id"], ["card_applications.application_id"]),
    Index("ix_card_application_events_application_id_id", "application_id", "id"),
    Index("ix_card_application_events_serial", "serial"),
)
CARD_APPLICATIONS_APPEND_ONLY = ("card_applications", "card_application_events")

# --- 庁内連携: the department systems' OAuth clients, tokens and the transfer policy's versions (migration 0018;
# docs/transfer.md) ------------------------------------------------------------------------------------------------
# A client is one department's business system. Its secret is never stored: it is derived from the transfer key file
# and the client's `secret_salt` (a keyed hash, adapters/transfer_client_store.py). Tokens are kept as SHA-256
# digests; a client assertion's `jti` is kept until its `exp` so that a replay is refused. The policy's versions are
# append-only history (who changed it, when, why, and the amendment as data).
transfer_clients = Table(
    "transfer_clients",
    metadata,
    Column("client_id", String(40), primary_key=True),
    Column("system_id", String(40), nullable=False),
    Column("department", String(60), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("secret_salt", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(40), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(40)),
    Index("ix_transfer_clients_system_id", "system_id"),
)
transfer_tokens = Table(
    "transfer_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(40), nullable=False),
    Column("system_id", String(40), nullable=False),
    Column("scope", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["client_id"], ["transfer_clients.client_id"]),
    Index("ix_transfer_tokens_expires_at", "expires_at"),
)
transfer_assertions = Table(
    "transfer_assertions",
    metadata,
    Column("client_id", String(40), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_transfer_assertions_expires_at", "expires_at"),
)
transfer_policy_versions = Table(
    "transfer_policy_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("document", JSON, nullable=False),
)
TRANSFER_APPEND_ONLY = ("transfer_policy_versions",)

# 自己情報 (やりとり履歴, docs/my-usage.md; migration 0019): the resident's card sign-in and a supervisor's
# decisions about withheld entries.
my_challenges = Table(
    "my_challenges",
    metadata,
    Column("challenge_id", String(40), primary_key=True),
    Column("challenge", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Index("ix_my_challenges_expires_at", "expires_at"),
)
my_sessions = Table(
    "my_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("serial", String(40), nullable=False),
    Column("addressee_number", String(10), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    ForeignKeyConstraint(["serial"], ["kiosk_cards.serial"]),
    Index("ix_my_sessions_expires_at", "expires_at"),
)
usage_withholding_decisions = Table(
    "usage_withholding_decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    Column("entry_key", String(40), nullable=False),
    Column("addressee_number", String(10), nullable=False),
    Column("action", String(10), nullable=False),  # release / extend
    Column("until", Date),  # the day it is shown from
    Column("reason", Text, nullable=False),
    Column("decided_by", String(40), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_usage_withholding_decisions_person", "addressee_number"),
)
