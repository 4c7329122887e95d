"""The CS operator's search of the 本人確認情報ファイル and queries of the national server (III(2)-3 リスク2;
docs/cs-search.md): thin pages over cs/services/search.py, which checks `cs:operate`, applies the two-item rule,
screens 支援措置 and logs every search and query (item names, never values).

- `/ui/cs/search`: by 住民票コード alone, or 氏名 with 住所 or 生年月日 (性別 narrows). A search by 住民票コード that finds
  its person shows the 36 items without the 個人番号; a list's 詳細 is such a search (posted: no name, date or code
  in a URL, the browser's history or the access log).
- `/ui/cs/query`: the national server (全国サーバ), for persons of other cities, with the purpose (住基法30条の10,
  30条の12, 30条の14) required; the answer is shown once, never kept.
Anyone but the CS operator gets the 事務 switch page (403), as on /ui/cs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from juki.cs.adapters import query_tables
from juki.cs.adapters.national_client import HttpsNationalClient
from juki.cs.domain import search as rules
from juki.cs.domain.items import MY_NUMBER
from juki.cs.services import search
from juki.cs.wire import ITEMS
from juki.domain.errors import DomainError, Forbidden
from juki.web.ui.core import Ui, UiRoute, current
from juki.web.ui.cs_pages import cs_of

router = APIRouter(route_class=UiRoute)
UiDep = Annotated[Ui, Depends(current)]
SEARCH, QUERY = "/ui/cs/search", "/ui/cs/query"
SEARCH_KEYS = ("resident_code", "name", "birth_date", "sex", "address")
QUERY_KEYS = ("purpose", *SEARCH_KEYS)
SHOWN_ITEMS = tuple(i for i in ITEMS if i != MY_NUMBER)  # the detail's items: never the 個人番号
DATE_ITEMS = frozenset(
    {"生年月日", "住民となった日", "住所を定めた日", "届出の年月日", "異動年月日", "住民票コード使用年月日"}
)
STATUS = {"0": "住民", "1": "消除", "2": "死亡"}  # レコード状況フラグ
MAX_TEXT = 300


def _values(ui: Ui, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: str(ui.form.get(k) or "")[:MAX_TEXT] for k in keys}


def _errors(exc: DomainError) -> dict[str, dict[str, Any]]:
    field = exc.field if exc.field in QUERY_KEYS else ""
    return {field or "": exc.to_dict()}


def _render(ui: Ui, template: str, values: dict[str, str], status: int = 200, **extra: Any) -> Response:
    return ui.render(
        template,
        status,
        values=values,
        errors=extra.pop("errors", {}),
        purposes=[(k, f"{law}（{what}）") for k, (law, what) in rules.PURPOSES.items()],
        shown_items=SHOWN_ITEMS,
        date_items=DATE_ITEMS,
        record_status=STATUS,
        **extra,
    )


def _form(ui: Ui, template: str, action: str, keys: tuple[str, ...], target: str) -> Response:
    try:
        search.may_open(ui.uow, ui.actor, action)
    except Forbidden:
        return ui.switch_to("cs", target)
    return _render(ui, template, {k: "" for k in keys})


@router.get(SEARCH)
def search_form(ui: UiDep) -> Response:
    return _form(ui, "cs/search.html", "cs:search_form", SEARCH_KEYS, SEARCH)


@router.post(SEARCH)
def search_post(ui: UiDep) -> Response:
    values = _values(ui, SEARCH_KEYS)
    try:
        answer = search.search(ui.uow, cs_of(ui.request).transaction, query_tables.book, ui.actor, values)
    except Forbidden:
        return ui.switch_to("cs", SEARCH)
    except DomainError as exc:
        return _render(ui, "cs/search.html", values, 422, errors=_errors(exc))
    by_code = bool(values["resident_code"].strip())
    person = answer.persons[0] if by_code and answer.persons else None
    return _render(ui, "cs/search.html", values, answer=answer, person=person, by_code=by_code)


@router.get(QUERY)
def query_form(ui: UiDep) -> Response:
    return _form(ui, "cs/query.html", "cs:national_query_form", QUERY_KEYS, QUERY)


@router.post(QUERY)
def query_post(ui: UiDep) -> Response:
    values = _values(ui, QUERY_KEYS)
    link = ui.j.prefecture_client()
    try:
        client = HttpsNationalClient(link) if link is not None else None
        cs = cs_of(ui.request).transaction
        answer = search.query_national(ui.uow, cs, query_tables.book, ui.actor, client, values)
    except Forbidden:
        return ui.switch_to("cs", QUERY)
    except DomainError as exc:
        return _render(
            ui, "cs/query.html", values, exc.status if exc.status == 503 else 422, errors=_errors(exc)
        )
    finally:
        if link is not None:
            link.close()
    return _render(ui, "cs/query.html", values, answer=answer)
