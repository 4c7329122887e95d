"""特例転出・特例転入 and 転入通知受理: the register's side of a move between cities over the 住基ネット.

- 特例転出 (標準仕様書 j670) is a 転出届 with `card_move_out`: the domain records `MoveOutData.card`, refuses the paper
  転出証明書, and the 転出 event's `transfer` tells the CS to send the 転出証明書情報 to the destination.
- 特例転入 (住基法24条の2) is a 転入届 with `card_move_in` on the 転出証明書情報 the CS holds (`MoveOutCertificates`,
  services/ports.py): the counter looks one up (`look_up`), the form is filled from it, and `file_move_in` carries the
  個人番号 into the filing server-side, checks the period in the domain, sets a 仮支援措置 when the previous city
  protected the person (j440), and marks the 転出証明書情報 used once the move-in is committed.
- 転入通知受理 (j680, j690, j700) confirms the 消除 of a person who moved out (`confirm_move_out`), for the CS
  (CS_SYSTEM) and for the counter (a notice that came on paper).

docs/card-moves.md has the rules, their sources, and the contract with the CS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from juki.domain import commands as c
from juki.domain.dates import parse_iso_date
from juki.domain.errors import (
    InsufficientSearchCriteria,
    MoveOutCertificateNotFound,
    MoveOutCertificatesUnavailable,
)
from juki.domain.identifiers import validate_local_gov_code, validate_resident_code
from juki.domain.intake import free_text
from juki.domain.model import Address
from juki.domain.names import normalize_kana
from juki.policy.roles import REGISTER_CONFIRM_MOVE_OUT, REGISTER_FILE, Actor
from juki.services import filings, protection, ui_queries
from juki.services.audit import LogEntry
from juki.services.authorization import authorize
from juki.services.ports import MoveOutCertificates
from juki.services.read_models import HeldMoveOut
from juki.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

CONFIRM_KIND = "move-out-confirmation"
LOOKUP_ACTION = "filing:card-move-in:lookup"
SEX = {"男": "male", "女": "female"}  # the 住基ネット's 性別 → the register's


@dataclass(frozen=True)
class MoveInNotice:
    """転入通知 (住基法9条1項) from the destination: whom it is about and where and when they moved in."""

    resident_code: str
    moved_in_on: date
    destination_address: str
    destination_city_code: str
    notified_on: date


# --- 転入通知受理 ---------------------------------------------------------------------------------------------


def confirm_move_out(uow_factory: UnitOfWorkFactory, actor: Actor, notice: MoveInNotice) -> str:
    """Record the 転入通知 on the 除票 of the person it names (the domain's `confirm_move_out`), through the one door;
    the filing's id. Refusals: `move_out_not_found`, `move_out_already_confirmed` (the CS takes it as done),
    `moved_in_before_last_address`, `invalid_date`."""
    code = validate_resident_code(notice.resident_code, "resident_code")
    city = validate_local_gov_code(notice.destination_city_code, "destination_city_code")
    address = free_text({"destination_address": notice.destination_address}, "destination_address", 300)
    payload = {**asdict(notice), "moved_in_on": notice.moved_in_on.isoformat()}
    payload["notified_on"] = notice.notified_on.isoformat()

    def command(uow: UnitOfWork) -> c.Command:
        return c.ConfirmMoveOut(
            filed_on=uow.reader.today,
            resident_code=code,
            moved_in_on=notice.moved_in_on,
            destination=Address(address, municipality_code=city),
            notified_on=notice.notified_on,
        )

    result = filings.record_change(
        uow_factory, actor, REGISTER_CONFIRM_MOVE_OUT, CONFIRM_KIND, command, payload
    )
    return result.filing_id


def notice_from(payload: Mapping[str, Any]) -> MoveInNotice:
    """The counter's 転入通知 (API and form: strings, typed by the request model) as a `MoveInNotice`."""
    return MoveInNotice(
        resident_code=str(payload.get("resident_code", "")),
        moved_in_on=parse_iso_date(str(payload.get("moved_in_on", "")), "moved_in_on"),
        destination_address=str(payload.get("destination_address", "")),
        destination_city_code=str(payload.get("destination_city_code", "")),
        notified_on=parse_iso_date(str(payload.get("notified_on", "")), "notified_on"),
    )


# --- 特例転入 -------------------------------------------------------------------------------------------------


def _port(certificates: MoveOutCertificates | None) -> MoveOutCertificates:
    if certificates is None:
        raise MoveOutCertificatesUnavailable()
    return certificates


def held_view(held: HeldMoveOut) -> dict[str, Any]:
    """A 転出証明書情報 as the counter sees it and the form is filled from: never the 個人番号 (it stays server-side
    and goes into the filing by `file_move_in`), only whether there is one."""
    return {
        "certificate_id": held.certificate_id,
        "resident_code": held.resident_code,
        "has_my_number": held.my_number is not None,
        "family_name": held.family_name,
        "given_name": held.given_name,
        "family_name_kana": held.family_name_kana,
        "given_name_kana": held.given_name_kana,
        "birth_date": held.birth_date.isoformat(),
        "sex": SEX.get(held.sex, held.sex),
        "relationship": held.relationship,
        "householder_name": held.householder_name,
        "previous_address": held.previous_address,
        "previous_city_code": held.previous_city_code,
        "planned_on": held.planned_on.isoformat(),
        "destination_address": held.destination_address,
        "provisional_protection": held.provisional_protection,
        "received_on": held.received_on.isoformat(),
    }


def look_up(
    uow_factory: UnitOfWorkFactory,
    certificates: MoveOutCertificates | None,
    actor: Actor,
    criteria: Mapping[str, Any],
) -> dict[str, Any]:
    """The 転出証明書情報 the CS holds for a 特例転入: by 住民票コード (read from the card), or by kana name and birth
    date. Logged as a look-up, with the criterion's name only."""
    authorize(uow_factory, actor, REGISTER_FILE, LOOKUP_ACTION)
    port = _port(certificates)
    if criteria.get("resident_code"):
        code = validate_resident_code(str(criteria["resident_code"]), "resident_code")
        found = [h for h in [port.find(code)] if h is not None]
        how = "resident_code"
    elif criteria.get("family_name_kana") and criteria.get("birth_date"):
        kana = normalize_kana(str(criteria["family_name_kana"]), "family_name_kana")
        born = parse_iso_date(str(criteria["birth_date"]), "birth_date")
        found = port.search(kana, born)
        how = "kana_birth_date"
    else:
        raise InsufficientSearchCriteria(
            "住民票コード、または氏名（ふりがな）と生年月日で照会してください", "resident_code"
        )
    with uow_factory() as uow:
        uow.log(actor, LogEntry(LOOKUP_ACTION, detail=f"{how} found={len(found)}"))
        uow.commit()
    return {"certificates": [held_view(h) for h in found]}


@dataclass
class _CardMoveIn:
    """What a 特例転入 learns from the CS inside its transaction, for after it: each person's 転出証明書情報."""

    port: MoveOutCertificates
    actor: Actor
    held: dict[str, HeldMoveOut]  # by 住民票コード
    used: list[tuple[str, str]]  # (certificate_id, 宛名番号), marked used after the commit

    def prepare(self, uow: UnitOfWork, command: c.Command) -> c.Command:
        """Each person's 転出証明書情報 by their 住民票コード; the 個人番号 it carries fills a person given none."""
        if not isinstance(command, c.MoveIn) or not command.card:
            return command
        persons = []
        for p in command.persons:
            held = self.port.find(p.resident_code) if p.resident_code else None
            if held is not None:
                self.held[held.resident_code] = held
                p = replace(p, my_number=p.my_number or held.my_number)
            persons.append(p)
        chosen = [h for h in self.held.values() if h.certificate_id == command.moveout_certificate_id]
        if not chosen:
            raise MoveOutCertificateNotFound()
        return replace(
            command,
            persons=tuple(persons),
            moveout_certificates={code: h.certificate_id for code, h in self.held.items()},
            moveout_planned_on=chosen[0].planned_on,
        )

    def after(self, uow: UnitOfWork, result: filings.FilingResult) -> None:
        """j440: a 仮支援措置 for each person the previous city protected, in the move-in's transaction."""
        for change in result.changes:
            number = str(change["addressee_number"])
            state = uow.reader.resident(number)
            code = state.record.resident_code if state else None
            held = self.held.get(code) if code else None
            if held is None:
                continue
            self.used.append((held.certificate_id, number))
            if held.provisional_protection:
                protection.provisional_on_arrival(uow, self.actor, number, uow.reader.today)
                result.warnings.append(
                    {
                        "code": "provisional_protection_set",
                        "field": "persons",
                        "message": f"転出元で支援措置の対象です。仮支援措置を設定しました（宛名番号 {number}）。"
                        "支援措置責任者に確認してください",
                    }
                )


def preview_move_in(
    uow_factory: UnitOfWorkFactory,
    certificates: MoveOutCertificates | None,
    actor: Actor,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    """The confirmation step of a 転入届: a 特例転入 reads its 転出証明書情報 first, as the filing will, so that the
    period (住基法24条の2) and the certificate are checked before 登録."""
    if payload.get("card_move_in") is not True:
        return ui_queries.preview(uow_factory, actor, "move-in", payload)
    step = _CardMoveIn(_port(certificates), actor, {}, [])
    return ui_queries.preview(uow_factory, actor, "move-in", payload, prepare=step.prepare)


def file_move_in(
    uow_factory: UnitOfWorkFactory,
    certificates: MoveOutCertificates | None,
    actor: Actor,
    payload: Mapping[str, Any],
) -> filings.FilingResult:
    """A 転入届; with `card_move_in`, a 特例転入 on the CS's 転出証明書情報 (module doc)."""
    if payload.get("card_move_in") is not True:
        return filings.file(uow_factory, actor, "move-in", payload)
    step = _CardMoveIn(_port(certificates), actor, {}, [])
    result = filings.file(uow_factory, actor, "move-in", payload, prepare=step.prepare, after=step.after)
    for certificate_id, number in step.used:
        step.port.mark_used(certificate_id, number)
    return result
