"""The CS's tables for the telegrams between cities (docs/cs-transfers.md), in the CS's MetaData (adapters/tables.py)
and created by migration cs0006.

- `cs_telegrams_out`: what the CS sends (転出証明書情報, 転入通知), a queue like `cs_notices`: its state changes;
  `items` never holds the 個人番号 (it is in `my_number`, encrypted with the CS's key).
- `cs_telegrams_in`: what came in from our inbox and what became of it, one row a telegram; append-only. It keeps
  a 転入通知's items (who, when, where: the register needs them to confirm the 転出), never a 転出証明書情報's.
- `cs_moveout_certificates`: the 転出証明書情報 held for a 特例転入 (個人番号 encrypted); erased when its period
  is over (cs/domain/transfers.HELD_FOR), so not append-only.
- `cs_inbox_cursor`: the last place of our inbox taken in (one row).
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String, Table, Text

from juki.cs.adapters.tables import metadata

telegrams_out = Table(
    "cs_telegrams_out",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("telegram_id", String(32), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("to_city_code", String(6)),  # None when the 転出届 named no city code: an error at once
    Column("addressee_number", String(10), nullable=False),
    Column("resident_code", String(11)),
    Column("event_position", Integer, nullable=False),  # goes after the person's notices up to this position
    Column("items", JSON, nullable=False),
    Column("my_number", Text),
    Column("state", String(16), nullable=False),  # queued, sent, acknowledged, error, discarded
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("error_code", String(40)),
    Column("error_item", String(40)),
    Column("error_message", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_cs_telegrams_out_state", "state"),
    Index("ix_cs_telegrams_out_addressee_number", "addressee_number", "event_position"),
)

telegrams_in = Table(
    "cs_telegrams_in",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("telegram_id", String(64), nullable=False, unique=True),  # a repeat is passed over
    Column("seq", Integer, nullable=False),  # its place in our inbox
    Column("kind", String(32), nullable=False),
    Column("from_city_code", String(6), nullable=False),
    Column("resident_code", String(11)),
    Column("items", JSON),  # a 転入通知's items; None for a 転出証明書情報 (held in cs_moveout_certificates)
    Column("outcome", String(16), nullable=False),  # held, confirmed, refused
    Column("code", String(40)),
    Column("item", String(40)),
    Column("message", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_cs_telegrams_in_seq", "seq"),
)

moveout_certificates = Table(
    "cs_moveout_certificates",
    metadata,
    Column("certificate_id", String(64), primary_key=True),  # the telegram's id
    Column("resident_code", String(11), nullable=False),
    Column("family_name_kana", String(200), nullable=False),  # katakana, for the register's search
    Column("birth_date", Date, nullable=False),
    Column("from_city_code", String(6), nullable=False),
    Column("planned_on", Date, nullable=False),
    Column("provisional_protection", Boolean, nullable=False),
    Column("items", JSON, nullable=False),
    Column("my_number", Text),
    Column("received_on", Date, nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("addressee_number", String(10)),  # who it was used for (特例転入)
    Index("ix_cs_moveout_certificates_resident_code", "resident_code"),
    Index("ix_cs_moveout_certificates_kana_birth", "family_name_kana", "birth_date"),
)

inbox_cursor = Table(
    "cs_inbox_cursor",
    metadata,
    Column("city_code", String(6), primary_key=True),
    Column("after", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

APPEND_ONLY = ("cs_telegrams_in",)
