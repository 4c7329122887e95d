"""The 中間サーバー's own tables, in a MetaData of their own (never the register's): its migrations create them.

Every name starts with `ims_`, so that on PostgreSQL they may share the register's database without meeting its
tables; on SQLite they live in a file of their own (adapters/ims_db.py). The seen events, the measures, the flags set
by hand, the 副本's versions, the messages received and the 情報提供等記録 are append-only (triggers, ims0001).

The 個人番号 is only in `ims_unified.my_number`, encrypted with the 中間サーバー's own key file, and found by its
blind index (`my_number_index`); no other column, JSON or log holds it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from juki.adapters.component_db import NAMING

metadata = MetaData(naming_convention=NAMING)
TZ = DateTime(timezone=True)

counters = Table(
    "ims_counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

# Each register person as the 中間サーバー knows them from the events: what the replica needs, nothing more.
persons = Table(
    "ims_persons",
    metadata,
    Column("addressee_number", String(10), primary_key=True),
    Column("register_version", Integer, nullable=False),
    Column("household_number", String(10), index=True),
    Column("relationship", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

households = Table(
    "ims_households",
    metadata,
    Column("household_number", String(10), primary_key=True),
    Column("householder", String(10)),  # 宛名番号; null while the household has none (j100)
    Column("updated_at", TZ, nullable=False),
)

# 団体内統合宛名: one row per 個人番号, its 15-digit number never reused; the 符号's state.
unified = Table(
    "ims_unified",
    metadata,
    Column("unified_number", String(15), primary_key=True),
    Column("my_number", Text, nullable=False),
    Column("my_number_index", String(64), nullable=False, unique=True),
    Column("link_code_state", String(12), nullable=False),  # waiting, requested, issued
    Column("link_code", String(64), unique=True),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

# A business system's 宛名番号 → the unified number (the register is the system "住民記録"); the 4情報 it gave.
links = Table(
    "ims_links",
    metadata,
    Column("system_id", String(40), primary_key=True),
    Column("addressee_number", String(40), primary_key=True),
    Column("unified_number", String(15), nullable=False, index=True),
    Column("four_info", JSON, nullable=False),
    Column("linked_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

# 処理通番: a serial taken from the network for one unified number's 符号.
serials = Table(
    "ims_serials",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("unified_number", String(15), nullable=False, index=True),
    Column("state", String(12), nullable=False),  # taken, handed, issued, abandoned
    Column("attempts", Integer, nullable=False),
    Column("taken_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
)

seen_events = Table(
    "ims_seen_events",
    metadata,
    Column("addressee_number", String(10), primary_key=True),
    Column("register_version", Integer, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("seen_at", TZ, nullable=False),
)

# The register's 支援措置 (ProtectionChanged, restriction "support"), one row per event, as the CS keeps them.
protections = Table(
    "ims_protections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("position", Integer, nullable=False),
    Column("addressee_number", String(10), nullable=False, index=True),
    Column("measure_id", String(40), nullable=False),
    Column("restriction", String(20), nullable=False),
    Column("action", String(12), nullable=False),
    Column("in_force_from", Date, nullable=False),
    Column("in_force_until", Date),
    Column("recorded_at", TZ, nullable=False),
    UniqueConstraint("position", "addressee_number"),
)

# 自動応答不可 set or cleared by a supervisor, with the reason (kept here, never sent out).
flags = Table(
    "ims_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("addressee_number", String(10), nullable=False, index=True),
    Column("no_auto_reply", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("at", TZ, nullable=False),
)

# The 副本: every version of every record (登録 or 削除); the current one is the latest.
replicas = Table(
    "ims_replicas",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("unified_number", String(15), nullable=False),
    Column("info_code", String(8), nullable=False),
    Column("record_version", Integer, nullable=False),
    Column("operation", String(4), nullable=False),
    Column("items", JSON, nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("registered_at", TZ, nullable=False),
    UniqueConstraint("unified_number", "info_code", "record_version"),
)

# Every 副本登録 message received: accepted or refused with its reason.
replica_messages = Table(
    "ims_replica_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(80), nullable=False),
    Column("result", String(12), nullable=False),
    Column("reason", Text, nullable=False),
    Column("segments", Integer, nullable=False),
    Column("at", TZ, nullable=False),
)

# Each 照会 and what became of it; `due`: an answer waiting to go to the network (sent at the next pass).
queries = Table(
    "ims_queries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("query_id", String(100), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("requester", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("procedure", Text, nullable=False),
    Column("information", Text, nullable=False),
    Column("items_asked", JSON),
    Column("link_code", String(100), nullable=False),
    Column("unified_number", String(15), index=True),
    Column("state", String(12), nullable=False),  # answered, refused, pending, released, withheld, duplicate
    Column("status", String(16), nullable=False),  # the answer's wire status
    Column("message", Text, nullable=False),
    Column("answer_items", JSON, nullable=False),
    Column("replica_id", Integer),  # the 副本's version the answer gives
    Column("due", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", TZ),
    Column("review_reason", Text),
    Column("sent_at", TZ),
    UniqueConstraint("query_id", "seq"),
)

provision_log = Table(
    "ims_provision_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", TZ, nullable=False, index=True),
    Column("action", String(12), nullable=False),
    Column("query_id", String(100), nullable=False),
    Column("requester", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("procedure", Text, nullable=False),
    Column("information", Text, nullable=False),
    Column("link_code", String(100), nullable=False),
    Column("unified_number", String(15), index=True),
    Column("items", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("retain_until", Date, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

cursors = Table(
    "ims_cursors",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("position", Integer, nullable=False),
)

# The 中間サーバー's own log: intake refusals, staff views and decisions, the pass's troubles (never a value).
log = Table(
    "ims_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("action", String(40), nullable=False),
    Column("result", String(40), nullable=False),
    Column("message", Text, nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("terminal", String(200), nullable=False),
    Column("addressee_number", String(10)),
)

APPEND_ONLY = (
    "ims_seen_events",
    "ims_protections",
    "ims_flags",
    "ims_replicas",
    "ims_replica_messages",
    "ims_provision_log",
    "ims_log",
)
