"""Bulk output and media records (大量のデータ出力・媒体出力, seed III リスク対策).

- A bulk output selects residents by town, birth-date range and status and writes a CSV of summary items.
  More than `threshold` persons (settings, default 100) waits for a data controller's approval; the approver is
  never the requester (four eyes). Small outputs are approved as they are asked for. Either way it runs once.
- My Numbers are never in a bulk output (its procedure does not use them), and persons under a 支援措置 are left
  out (counted, not named).
- Every media export is recorded (who, witness, purpose, medium, item count, SHA-256 of the file); the record is
  append-only. Backups (`juki backup`) write such a record too.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from juki.domain.address import towns
from juki.domain.dates import parse_date, to_wareki
from juki.domain.errors import Forbidden, InvalidField, NotFound
from juki.domain.intake import free_text
from juki.domain.model import record_from_row
from juki.policy.roles import EXPORT_APPROVE, EXPORT_REQUEST, LOG_READ, MEDIA_RECORD, Actor
from juki.services import protection
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.read_models import BulkOutput, SelectedResident
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

STATUSES = ("active", "removed", "all")
MEDIA = ("USB", "DVD", "CD", "紙", "外付けHDD", "その他")
COLUMNS = (
    ("addressee_number", "宛名番号"),
    ("household_number", "世帯番号"),
    ("name", "氏名"),
    ("kana", "氏名（カナ）"),
    ("birth_date", "生年月日"),
    ("sex", "性別"),
    ("address", "住所"),
    ("status", "状態"),
)


def _criteria(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidField("抽出条件を指定してください", "criteria")
    unknown = set(raw) - {"town", "born_from", "born_to", "status"}
    if unknown:
        raise InvalidField("この項目は指定できません", f"criteria.{sorted(unknown)[0]}")
    status = raw.get("status", "active")
    if status not in STATUSES:
        raise InvalidField("状態は active / removed / all のいずれかです", "criteria.status")
    town = raw.get("town")
    if town is not None and town not in {t.town for t in towns()} | {t.base_name for t in towns()}:
        raise InvalidField("市内の町字を指定してください", "criteria.town")
    criteria: dict[str, Any] = {"status": status, "town": town}
    for key in ("born_from", "born_to"):
        criteria[key] = parse_date(str(raw[key]), f"criteria.{key}").isoformat() if raw.get(key) else None
    return criteria


def _select(
    uow: UnitOfWork, criteria: Mapping[str, Any], with_record: bool = False
) -> tuple[list[SelectedResident], int]:
    rows = uow.controls.select_residents(
        criteria["town"],
        parse_date(criteria["born_from"], "criteria.born_from") if criteria["born_from"] else None,
        parse_date(criteria["born_to"], "criteria.born_to") if criteria["born_to"] else None,
        criteria["status"],
        with_record,
    )
    hidden = protection.in_force_for(uow, [(r.addressee_number, r.household_number) for r in rows], True)
    return [r for r in rows if r.addressee_number not in hidden], len(hidden)


def _output(uow: UnitOfWork, output_id: str) -> BulkOutput:
    row = uow.controls.output(output_id)
    if row is None:
        raise NotFound("該当する出力依頼がありません", "output_id")
    return row


def _view(row: BulkOutput) -> dict[str, Any]:
    return {
        "output_id": row.output_id,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at.isoformat(),
        "purpose": row.purpose,
        "criteria": row.criteria,
        "person_count": row.person_count,
        "state": row.state,
        "decided_by": row.decided_by,
        "comment": row.comment,
        "sha256": row.sha256,
    }


def request(
    uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any], threshold: int
) -> dict[str, Any]:
    authorize(uow_factory, actor, EXPORT_REQUEST, "bulk_output:request")
    purpose = free_text(payload, "purpose")
    criteria = _criteria(payload.get("criteria"))
    with uow_factory() as uow:
        rows, _ = _select(uow, criteria)
        needs_approval = len(rows) > threshold
        output_id = uow.controls.add_output(
            {
                "requested_by": actor.staff_id,
                "requested_at": uow.now,
                "procedure": actor.procedure_code,
                "purpose": purpose,
                "criteria": criteria,
                "person_count": len(rows),
                "state": "pending" if needs_approval else "approved",
                "decided_by": None if needs_approval else "(閾値以下)",
                "decided_at": None if needs_approval else uow.now,
            }
        )
        uow.log(actor, LogEntry("bulk_output:request", detail=f"{output_id} persons={len(rows)}"))
        uow.commit()
        return _view(_output(uow, output_id))


def decide(
    uow_factory: UnitOfWorkFactory, actor: Actor, output_id: str, approve: bool, comment: str = ""
) -> dict[str, Any]:
    authorize(uow_factory, actor, EXPORT_APPROVE, "bulk_output:decide")
    with uow_factory() as uow:
        row = uow.controls.output(output_id)
        if row is None or row.state != "pending":
            raise NotFound("承認待ちの出力依頼が見つかりません", "output_id")
        if row.requested_by == actor.staff_id:
            uow.log(actor, LogEntry("bulk_output:decide", result="denied", detail=f"{output_id} own"))
            uow.commit()
            raise Forbidden("依頼した職員は自分の出力依頼を承認できません", "output_id")
        state = "approved" if approve else "rejected"
        uow.controls.change_output(
            output_id,
            "pending",
            {"state": state, "decided_by": actor.staff_id, "decided_at": uow.now, "comment": comment[:500]},
        )
        uow.log(actor, LogEntry("bulk_output:approve" if approve else "bulk_output:reject", detail=output_id))
        uow.commit()
        return _view(_output(uow, output_id))


@dataclass(frozen=True)
class Output:
    filename: str
    content: bytes
    sha256: str


def run(uow_factory: UnitOfWorkFactory, actor: Actor, output_id: str) -> Output:
    """Write the CSV of an approved output, once, for the staff member who asked for it."""
    authorize(uow_factory, actor, EXPORT_REQUEST, "bulk_output:run")
    with uow_factory() as uow:
        row = _output(uow, output_id)
        if row.requested_by != actor.staff_id:
            uow.log(actor, LogEntry("bulk_output:run", result="denied", detail=f"{output_id} not own"))
            uow.commit()
            raise Forbidden("出力できるのは依頼した職員だけです", "output_id")
        if row.state != "approved":
            raise Forbidden("承認されていない、または出力済みの依頼です", "output_id")
        people, _ = _select(uow, row.criteria, with_record=True)
        content = _csv(people)
        digest = hashlib.sha256(content).hexdigest()
        uow.controls.change_output(
            output_id, "approved", {"state": "done", "completed_at": uow.now, "sha256": digest}
        )
        uow.log(
            actor,
            LogEntry(
                "bulk_output:run",
                [p.addressee_number for p in people],
                detail=f"{output_id} persons={len(people)} sha256={digest}",
            ),
        )
        uow.commit()
    return Output(f"{output_id}.csv", content, digest)


def _csv(rows: list[SelectedResident]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        record = record_from_row(row.record, None)
        writer.writerow(
            [
                row.addressee_number,
                row.household_number,
                f"{record.family_name}　{record.given_name}",
                f"{record.family_name_kana}　{record.given_name_kana}",
                to_wareki(record.birth_date),
                {"male": "男", "female": "女"}.get(record.sex, record.sex),
                row.address,
                "除票" if row.status == "removed" else "",
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel in Japan reads UTF-8 with it


def list_outputs(uow_factory: UnitOfWorkFactory, actor: Actor, state: str | None) -> dict[str, Any]:
    authorize(uow_factory, actor, EXPORT_REQUEST, "bulk_output:list")
    with uow_factory() as uow:
        rows = uow.controls.outputs(state)
        uow.log(actor, LogEntry("bulk_output:list", detail=f"state={state}"))
        uow.commit()
    return {"outputs": [_view(r) for r in rows]}


# --- media export records ----------------------------------------------------------------------------------------


def record_media(uow_factory: UnitOfWorkFactory, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    authorize(uow_factory, actor, MEDIA_RECORD, "media:record")
    witness = free_text(payload, "witness_id", 40)
    medium = free_text(payload, "medium", 40)
    if medium not in MEDIA:
        raise InvalidField(f"媒体は {' / '.join(MEDIA)} のいずれかです", "medium")
    count = payload.get("item_count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise InvalidField("件数は0以上の整数です", "item_count")
    digest = str(payload.get("sha256") or "").strip().lower()  # hex: digit runs are no My Number here
    if len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise InvalidField("SHA-256は16進数64桁です", "sha256")
    values = {
        "witness_id": witness,
        "purpose": free_text(payload, "purpose"),
        "medium": medium,
        "item_count": count,
        "sha256": digest,
        "output_id": payload.get("output_id"),
    }
    return {"record_id": add_media_record(uow_factory, actor, values)}


def check_witness(uow_factory: UnitOfWorkFactory, actor: Actor, witness_id: str) -> None:
    """The witness of a media export is another active staff member."""
    with uow_factory() as uow:
        witness = uow.staff.by_username(witness_id) if witness_id else None
    if witness is None or not witness.active or witness.staff_id == actor.staff_id:
        raise InvalidField("立会者は本人以外の有効な職員です", "witness_id")


def add_media_record(uow_factory: UnitOfWorkFactory, actor: Actor, values: dict[str, Any]) -> str:
    """Record a media export (append-only)."""
    check_witness(uow_factory, actor, values["witness_id"])
    with uow_factory() as uow:
        record_id = uow.controls.add_media_record(
            {**values, "staff_id": actor.staff_id, "recorded_at": uow.now}
        )
        uow.log(
            actor,
            LogEntry(
                "media:record",
                detail=f"{record_id} {values['medium']} items={values['item_count']} sha256={values['sha256']}",
            ),
        )
        uow.commit()
    return str(record_id)


def list_media(uow_factory: UnitOfWorkFactory, actor: Actor) -> dict[str, Any]:
    # Those who record exports and the auditor who checks them may read the records.
    permission = MEDIA_RECORD if actor.may(MEDIA_RECORD) else LOG_READ
    authorize(uow_factory, actor, permission, "media:list")
    with uow_factory() as uow:
        rows = uow.controls.media_records()
        uow.log(actor, LogEntry("media:list"))
        uow.commit()
    return {
        "records": [
            {
                "record_id": r.record_id,
                "recorded_at": r.recorded_at.isoformat(),
                "staff_id": r.staff_id,
                "witness_id": r.witness_id,
                "purpose": r.purpose,
                "medium": r.medium,
                "item_count": r.item_count,
                "sha256": r.sha256,
                "output_id": r.output_id,
            }
            for r in rows
        ]
    }
