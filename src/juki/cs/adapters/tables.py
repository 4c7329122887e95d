"""The CS's own tables, in a MetaData of their own (never the register's): its migrations create them.

Every name starts with `cs_`, so that on PostgreSQL they may share the register's database without meeting its
tables; on SQLite they live in a file of their own (adapters/cs_db.py). History, the seen events and the CS log are
append-only (triggers, migration cs0001).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from juki.adapters.component_db import NAMING

metadata = MetaData(naming_convention=NAMING)

# The 本人確認情報ファイル: each person's current version. `items` never holds the 個人番号 (None there): it is in
# `my_number`, encrypted with the CS's own key file. A dead person stays, out of scope (docs/cs.md).
identity = Table(
    "cs_identity",
    metadata,
    Column(
        "addressee_number", String(10), primary_key=True
    ),  # the register's 宛名番号: how events name a person
    Column("resident_code", String(11)),
    Column("sequence", Integer, nullable=False),  # 更新順番号 of this version
    Column("register_version", Integer, nullable=False),
    Column("status", String(1), nullable=False),  # レコード状況フラグ
    Column("in_scope", Boolean, nullable=False),
    Column("items", JSON, nullable=False),
    Column("my_number", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_cs_identity_resident_code", "resident_code"),
)

identity_history = Table(
    "cs_identity_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("addressee_number", String(10), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("register_version", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("items", JSON, nullable=False),
    Column("my_number", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("addressee_number", "sequence"),
)

# The register's events the CS has taken in: (宛名番号, version) identifies one (docs/events.md, at-least-once).
seen = Table(
    "cs_seen_events",
    metadata,
    Column("addressee_number", String(10), primary_key=True),
    Column("register_version", Integer, primary_key=True),
    Column("position", Integer, nullable=False),  # the outbox position it came at
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

# What the register's measures restrict (ProtectionChanged, docs/events.md): one row a person and event, never
# changed (migration cs0002); a person's restriction by a measure is its latest row. The measure id, no reason.
restrictions = Table(
    "cs_restrictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("addressee_number", String(10), nullable=False),
    Column("measure_id", String(40), nullable=False),
    Column("restriction", String(20), nullable=False),  # support (支援措置) / certificate_hold (交付制限)
    Column("action", String(20), nullable=False),
    Column("in_force_from", Date, nullable=False),
    Column("in_force_until", Date),  # lifted on this day; NULL while the measure lasts
    Column("ends_on", Date, nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("position", Integer, nullable=False),  # the outbox position it came at
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("position", "addressee_number"),
    Index("ix_cs_restrictions_addressee_number", "addressee_number", "id"),
)

# The notice queue. One row per notice (a 転居 into another household is two: part 0 and 1), in the person's
# order (event_position, part). States: docs/cs.md. `sequence` is set when the notice passes the checks.
notices = Table(
    "cs_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the entry number the operator sees
    Column("notice_id", String(32), nullable=False, unique=True),
    Column("addressee_number", String(10), nullable=False),
    Column("resident_code", String(11)),
    Column("change_reason", String(20), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("event_position", Integer, nullable=False),
    Column("part", Integer, nullable=False),
    Column("register_version", Integer, nullable=False),
    Column("household_changed", Boolean, nullable=False),
    Column("sequence", Integer),
    Column("items", JSON, nullable=False),
    Column("my_number", Text),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("error_code", String(40)),
    Column("error_item", String(40)),
    Column("error_message", Text),
    Column("send_back_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("addressee_number", "event_position", "part"),
    Index("ix_cs_notices_state", "state"),
)

# The CS's own log: every notice, attempt, answer, correction and resend (seed III(2): 操作者ID, 操作端末ID).
log = Table(
    "cs_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(40), nullable=False),
    Column("entry", Integer),  # cs_notices.id
    Column("addressee_number", String(10)),
    Column("kind", String(20)),
    Column("sequence", Integer),
    Column("result", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
)

# The comparisons with the register (標準仕様書 j1100), one row a run: persons and item names, never values
# (`differences`: [{"addressee_number", "resident_code", "item"}]). Append-only (migration cs0003).
comparisons = Table(
    "cs_comparisons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("persons", Integer, nullable=False),
    Column("differences", JSON, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
    Index("ix_cs_comparisons_at", "at"),
)

APPEND_ONLY = ("cs_identity_history", "cs_seen_events", "cs_log", "cs_restrictions", "cs_comparisons")
