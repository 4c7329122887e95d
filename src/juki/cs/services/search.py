"""The CS operator's search of the 本人確認情報ファイル and query of the national server (seed II(2)⑤, III(2)-3
リスク2; docs/cs-search.md).

- `search`: the CS's own file, by 住民票コード alone or by 氏名 with 住所 or 生年月日 (cs/domain/search.py's rule).
  Persons out of the file's scope (the dead, once their notice was acknowledged) are not found.
- `query_national`: the national server (全国サーバ) for persons of other cities, by 住民票コード or by the 4情報, each
  query stating its purpose (住基法30条の10, 30条の12 or 30条の14); none is `purpose_required`.

Only the CS operator (`cs:operate`) may; anyone else is refused and the refusal logged (authorization.authorize).
A person under a 支援措置 is screened as every read that names a person is (`juki.services.protection.screen`,
j440: the CS operator holds no `protection:view`; the supervisors get the alert), and also when the CS itself keeps
the register's 支援措置 as in force (cs/services/restrictions.py): such a person is left out, as if not found.
No answer ever holds the 個人番号: the file's items are read without it, and the national server's answers are
stripped of it by the client.

Every search and query — answered or refused — is written three times, none with a condition's value: a row of
`cs_queries` (the item names used, the purpose, how many answered and withheld, operator, terminal, 事務), a line of
the CS log, and an entry of the register's hash-chained operation log (`cs:search`, `cs:national_query`), so that
`juki audit verify` and the auditor's reports cover them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol

from juki.cs.domain import search as rules
from juki.cs.services import restrictions
from juki.cs.services.ports import CsStore, CsTransaction, LogLine
from juki.domain.dates import parse_date
from juki.domain.errors import DomainError
from juki.policy.roles import CS_OPERATE, Actor
from juki.services import protection
from juki.services.audit import Fact, LogEntry
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory

SEARCH, NATIONAL = "search", "national"
# The form's fields and the items they are (the logs name items, and the auditor's reports read `criteria`).
FIELDS = {
    "resident_code": rules.RESIDENT_CODE,
    "name": rules.NAME,
    "birth_date": rules.BIRTH_DATE,
    "sex": rules.SEX,
    "address": rules.ADDRESS,
}
SUPPORT = "support"  # the restriction a 支援措置 is kept as (cs/services/ports.Restriction); a 交付制限 hides no one
UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Held:
    """A person of the CS's file as a search reads it: the items without the 個人番号."""

    addressee_number: str
    status: str  # レコード状況フラグ
    items: Mapping[str, str | None]


@dataclass(frozen=True)
class Found:
    """A person as the operator sees them: 住民票コード and items, never the 個人番号 nor the 宛名番号."""

    resident_code: str
    items: Mapping[str, str | None]


@dataclass(frozen=True)
class Answer:
    items: tuple[str, ...]  # the conditions' item names
    persons: list[Found]
    truncated: bool  # more persons met the conditions than MAX_ANSWERS


@dataclass(frozen=True)
class QueryLine:
    """A row of `cs_queries`: who, which items (names), which purpose, how many; never a value."""

    kind: str
    procedure: str
    conditions: tuple[str, ...]
    result: str
    answered: int
    withheld: int
    staff_id: str
    terminal: str
    purpose: str | None = None
    at: datetime | None = None

    def values(self) -> dict[str, object]:
        row = asdict(self) | {"conditions": list(self.conditions)}
        row.pop("at")
        return row


class QueryBook(Protocol):
    def persons(self, resident_code: str | None = None) -> list[Held]: ...
    def addressees(self, resident_codes: list[str]) -> dict[str, str]: ...
    def record(self, line: QueryLine) -> None: ...
    def lines(self) -> list[QueryLine]: ...


BookOf = Callable[[CsStore], QueryBook]


@dataclass(frozen=True)
class NationalAnswer:
    persons: list[Found]
    truncated: bool


class NationalLink(Protocol):
    def query(self, purpose: str, conditions: rules.Conditions) -> NationalAnswer:
        """The national server's answer; raises `QueryRefused` or `wire.Unreachable`."""
        ...


class QueryRefused(DomainError):
    """The national server refused the query (its code; the CS's own words, since its message may quote a value)."""

    status = 422


class JukiNetUnavailable(DomainError):
    code = "juki_net_unavailable"
    status = 503
    default_message = "住基ネットに接続できません。時間をおいて照会し直してください"


def may_open(uow_factory: UnitOfWorkFactory, actor: Actor, action: str) -> None:
    """The forms are the CS operator's too: anyone else is refused (and the refusal logged)."""
    authorize(uow_factory, actor, CS_OPERATE, action)


def _named(params: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(item for field, item in FIELDS.items() if str(params.get(field) or "").strip())


def _criteria(items: tuple[str, ...]) -> list[str]:
    return [field for field, item in FIELDS.items() if item in items]


def parse(params: Mapping[str, str]) -> rules.Conditions:
    """The form's text as conditions: the birth date as people write it (和暦 too), the rest as the rule says."""
    born = str(params.get("birth_date") or "").strip()
    return rules.conditions(
        params.get("resident_code"),
        params.get("name"),
        params.get("address"),
        parse_date(born, "birth_date") if born else None,
        params.get("sex"),
    )


def search(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    book_of: BookOf,
    actor: Actor,
    params: Mapping[str, str],
) -> Answer:
    """The persons of the CS's file that meet the conditions (at most MAX_ANSWERS), screened."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:search")
    try:
        conditions = parse(params)
    except DomainError as refused:
        _record(uow_factory, cs, book_of, actor, QueryLine(SEARCH, actor.procedure_code, _named(params),
                refused.code, 0, 0, actor.staff_id, actor.terminal))  # fmt: skip
        raise
    meets = rules.matcher(conditions)
    with cs() as store:
        matched = [h for h in book_of(store).persons(conditions.resident_code) if meets(h.items)]
        kept = {h.addressee_number for h in matched if _supported(store, h.addressee_number)}
    shown, withheld = _screen(uow_factory, actor, matched, kept, "cs:search")
    persons = [Found(str(h.items.get(rules.RESIDENT_CODE) or ""), h.items) for h in shown]
    answer = Answer(conditions.items, persons[: rules.MAX_ANSWERS], len(persons) > rules.MAX_ANSWERS)
    line = QueryLine(SEARCH, actor.procedure_code, conditions.items, "ok", len(answer.persons), withheld,
                     actor.staff_id, actor.terminal)  # fmt: skip
    targets = [h.addressee_number for h in shown[: rules.MAX_ANSWERS]]
    _record(uow_factory, cs, book_of, actor, line, targets)
    return answer


def _supported(store: CsStore, addressee_number: str) -> bool:
    return any(r.restriction == SUPPORT for r in restrictions.in_force(store, addressee_number))


def _screen(
    uow_factory: UnitOfWorkFactory, actor: Actor, matched: list[Held], kept: set[str], action: str
) -> tuple[list[Held], int]:
    """Those the actor may be shown, and how many were withheld (the register's screening, or the CS's own)."""
    if not matched:
        return [], 0
    with uow_factory() as uow:
        hidden = protection.screen(uow, actor, {h.addressee_number for h in matched}, action) | kept
        uow.commit()  # the supervisors' alerts
    shown = [h for h in matched if h.addressee_number not in hidden]
    return shown, len(matched) - len(shown)


def query_national(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    book_of: BookOf,
    actor: Actor,
    link: NationalLink | None,
    params: Mapping[str, str],
) -> NationalAnswer:
    """The national server's 本人確認情報 of the persons who meet the conditions, for the purpose stated."""
    authorize(uow_factory, actor, CS_OPERATE, "cs:national_query")
    stated = str(params.get("purpose") or "").strip()
    kept_purpose = stated if stated in rules.PURPOSES else ("unknown" if stated else None)
    named = _named(params)

    def refused(code: str) -> None:
        line = QueryLine(
            NATIONAL, actor.procedure_code, named, code, 0, 0, actor.staff_id, actor.terminal, kept_purpose
        )
        _record(uow_factory, cs, book_of, actor, line)

    try:
        purpose = rules.purpose_of(stated)
        conditions = parse(params)
    except DomainError as exc:
        refused(exc.code)
        raise
    if link is None:
        refused(UNREACHABLE)
        raise JukiNetUnavailable("住基ネットへの接続が設定されていません（juki-net.json）")
    try:
        answer = link.query(purpose, conditions)
    except QueryRefused as exc:
        refused(exc.code)
        raise
    except Exception as exc:  # wire.Unreachable, or anything the link could not turn into an answer
        refused(UNREACHABLE)
        raise JukiNetUnavailable() from exc
    return _answered(uow_factory, cs, book_of, actor, purpose, conditions, answer)


def _answered(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    book_of: BookOf,
    actor: Actor,
    purpose: str,
    conditions: rules.Conditions,
    answer: NationalAnswer,
) -> NationalAnswer:
    """Our own residents in a national answer are screened like a search of the file (others the CS cannot know)."""
    with cs() as store:
        ours = book_of(store).addressees([p.resident_code for p in answer.persons])
        kept = {n for n in ours.values() if _supported(store, n)}
    held = [Held(ours[p.resident_code], "", p.items) for p in answer.persons if p.resident_code in ours]
    shown, withheld = _screen(uow_factory, actor, held, kept, "cs:national_query")
    hidden = {h.addressee_number for h in held} - {h.addressee_number for h in shown}
    persons = [p for p in answer.persons if ours.get(p.resident_code) not in hidden]
    line = QueryLine(NATIONAL, actor.procedure_code, conditions.items, "ok", len(persons), withheld,
                     actor.staff_id, actor.terminal, purpose)  # fmt: skip
    _record(uow_factory, cs, book_of, actor, line, [h.addressee_number for h in shown])
    return NationalAnswer(persons, answer.truncated)


def _record(
    uow_factory: UnitOfWorkFactory,
    cs: CsTransaction,
    book_of: BookOf,
    actor: Actor,
    line: QueryLine,
    targets: list[str] | None = None,
) -> None:
    """The search or query into `cs_queries`, the CS log and the register's operation log: names, never values."""
    what = "本人確認情報の検索" if line.kind == SEARCH else "全国サーバへの照会"
    said = f"{what}（{'・'.join(line.conditions) or '条件なし'}）"
    if line.purpose:
        said += f" 目的: {rules.PURPOSES.get(line.purpose, ('（不明な目的）',))[0]}"
    said += f": {line.answered}件" if line.result == "ok" else f": 拒否 {line.result}"
    action = "search" if line.kind == SEARCH else "national_query"
    with cs() as store:
        book_of(store).record(line)
        store.log(LogLine(action, line.result, said, actor.staff_id, actor.terminal))
    facts: dict[str, Fact] = {
        "criteria": _criteria(line.conditions),
        "items": list(line.conditions),
        "results": line.answered,
        "withheld": line.withheld,
    }
    if line.purpose:
        facts["purpose"] = line.purpose
    with uow_factory() as uow:
        uow.log(actor, LogEntry(f"cs:{action}", targets or [], result=line.result, detail=said, facts=facts))
        uow.commit()
