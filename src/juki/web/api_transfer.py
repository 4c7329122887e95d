"""The 庁内連携 pull API (API.md "Transfer feed and the PIA"; docs/transfer.md): a department system polls its
changes in commit order, or loads every record once, with an access token of its own client credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from juki.domain.errors import DomainError, Unauthenticated
from juki.policy.roles import TRANSFER_FEED
from juki.services import auth
from juki.services import transfer_feed as feed
from juki.services.authorization import authorize
from juki.services.transfer_clients import Desk, Expired, Grant, InvalidCursor, StaffTokenOnFeed
from juki.transfer.items import KEY_FIELDS
from juki.transfer.policy import SCOPE_CHANGES, SCOPE_EXTRACT, SCOPE_MY_NUMBER
from juki.transfer.projection import OutsideBasis, parse_fields
from juki.web.api import JukiDep, juki
from juki.web.oauth import desk
from juki.web.responses import PROBLEMS
from juki.web.responses.transfer import Changes, Extract

router = APIRouter(prefix="/api/v1/transfer", tags=["transfer"], responses=PROBLEMS)
_bearer = HTTPBearer(auto_error=False)
MAX_WAIT = 30
T = TypeVar("T")


async def department_grant(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Grant:
    """The department system's token. A staff token is refused (403, logged as a denial of `transfer:feed`); a
    forged, expired or revoked one is 401 and logged."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("認証が必要です")
    grant = await _gated(request, desk(request).bearer, creds.credentials)
    if grant is not None:
        return grant
    return await run_in_threadpool(_not_a_system, request, creds.credentials)


def _not_a_system(request: Request, token: str) -> Grant:
    """No system's token: a staff member's (403, logged) or nobody's (401, logged)."""
    j = juki(request)
    try:
        staff = auth.authenticate(j.uow, token, None, request.client.host if request.client else None)
    except Unauthenticated:
        feed.log_refusal(j.uow, None, f"transfer:{_resource(request)}", "invalid_token", "pull")
        raise Expired() from None
    authorize(j.uow, staff, TRANSFER_FEED, f"transfer:{_resource(request)}")
    raise StaffTokenOnFeed()  # a staff role never holds transfer:feed; should one ever, it is still no system


GrantDep = Annotated[Grant, Depends(department_grant)]


def _resource(request: Request) -> str:
    return request.url.path.rstrip("/").rsplit("/", 1)[-1]


def _check(j: Any, grant: Grant, action: str, scope: str, include: str | None, system: str | None) -> bool:
    """The token's scope for this resource (and for the 個人番号 when asked), and the system it names: refused with
    403, logged, before anything is read. Answers whether the 個人番号 is asked for."""
    number = include is not None and "my_number" in [p.strip() for p in include.split(",")]
    if include is not None and set(p.strip() for p in include.split(",")) - {"my_number"}:
        raise DomainError("include に指定できるのは my_number だけです", "include")
    refusal = None
    if scope not in grant.scopes or (number and SCOPE_MY_NUMBER not in grant.scopes):
        refusal = "insufficient_scope"
    elif system is not None and system != grant.system_id:
        refusal = "another system's feed"
    if refusal:
        feed.log_refusal(j.uow, grant.system_id, action, refusal, "pull", grant.client_id)
        raise StaffTokenOnFeed("このトークンでは利用できません")
    authorize(j.uow, grant.actor(), TRANSFER_FEED, action)
    return number


def _refused(j: Any, grant: Grant, action: str, error: DomainError) -> DomainError:
    reason = f"{error.code} {error.field}: {error.message}"
    feed.log_refusal(j.uow, grant.system_id, action, reason, "pull", grant.client_id)
    return error


async def _gated(request: Request, call: Callable[..., T], *args: Any) -> T:
    """Run a poll's database work in the thread pool, one at a time per process on SQLite: its writers queue for
    one lock, and twenty polls woken together would otherwise wait in SQLite's busy handler, whose sleeps grow
    (the feed's tail latency). PostgreSQL takes them eight at a time."""
    loop = asyncio.get_running_loop()
    gates: dict[int, asyncio.Semaphore] | None = getattr(request.app.state, "transfer_gates", None)
    if gates is None or id(loop) not in gates:
        size = 1 if juki(request).engine.dialect.name == "sqlite" else 8
        gates = request.app.state.transfer_gates = {id(loop): asyncio.Semaphore(size)}
    async with gates[id(loop)]:
        return await run_in_threadpool(call, *args)


class _Watch:
    """Wakes the long polls of one event loop when the outbox's head moves: one query per interval per process,
    however many department systems wait."""

    def __init__(self, j: Any) -> None:
        self.j = j
        self.head = -1
        self.changed = asyncio.Condition()
        self.waiting = 0
        self.task: asyncio.Task[None] | None = None

    async def beyond(self, known: int, timeout: float) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        async with self.changed:
            self.waiting += 1
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.head > known), timeout)
            except TimeoutError:
                pass
            finally:
                self.waiting -= 1

    async def _run(self) -> None:
        interval = self.j.settings.transfer_poll_seconds
        while True:
            head = await run_in_threadpool(feed.head, self.j.uow)  # one cheap read, never gated
            async with self.changed:
                if head != self.head:
                    self.head = head
                    self.changed.notify_all()
                if not self.waiting:
                    return
            await asyncio.sleep(interval)


def _watch(request: Request) -> _Watch:
    loop = asyncio.get_running_loop()
    watches: dict[int, _Watch] | None = getattr(request.app.state, "transfer_watches", None)
    if watches is None:
        watches = request.app.state.transfer_watches = {}
    if id(loop) not in watches:
        watches.clear()  # a test client's earlier loop is gone
        watches[id(loop)] = _Watch(juki(request))
    return watches[id(loop)]


@router.get("/changes", response_model=Changes, response_model_exclude_unset=True)
async def changes(
    request: Request,
    j: JukiDep,
    grant: GrantDep,
    after: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = feed.DEFAULT_LIMIT,
    fields: Annotated[str | None, Query(max_length=2000)] = None,
    include: Annotated[str | None, Query(max_length=100)] = None,
    wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0,
    system: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The changes after `after` (none: from the beginning), in commit order; `wait` seconds for one to commit."""
    number = _check(j, grant, "transfer:changes", SCOPE_CHANGES, include, system)
    dk = desk(request)
    try:
        wanted = parse_fields(fields)
        position = dk.position(grant.system_id, after)
        page = await _page(request, j, grant, position, limit, wanted, number)
        if position > page.head:  # a cursor of this system beyond the end (a register restored from a backup)
            raise InvalidCursor("カーソルが連携の末尾より先です")
        deadline = asyncio.get_running_loop().time() + wait
        while not page.changes and (left := deadline - asyncio.get_running_loop().time()) > 0:
            await _watch(request).beyond(page.head, left)
            page = await _page(request, j, grant, position, limit, wanted, number)
    except (OutsideBasis, InvalidCursor) as error:
        raise _refused(j, grant, "transfer:changes", error) from None
    return {"changes": page.changes, "next": dk.cursor(grant.system_id, page.next)}


async def _page(
    request: Request,
    j: Any,
    grant: Grant,
    after: int,
    limit: int,
    fields: frozenset[str] | None,
    number: bool,
) -> feed.FeedPage:
    """A page, logged as delivered in the transaction that reads it (one transaction per poll)."""
    return await _gated(
        request,
        lambda: feed.changes_for(
            j.uow, grant.system_id, after, limit, fields=fields, include_my_number=number,
            deliver=(grant.client_id, "pull"),
        ),
    )  # fmt: skip


@router.get("/extract", response_model=Extract, response_model_exclude_unset=True)
def extract(
    request: Request,
    j: JukiDep,
    grant: GrantDep,
    start: Annotated[str, Query(max_length=10, pattern=r"^[0-9]*$")] = "",
    limit: Annotated[int, Query(ge=1, le=feed.MAX_LIMIT)] = feed.DEFAULT_LIMIT,
    fields: Annotated[str | None, Query(max_length=2000)] = None,
    include: Annotated[str | None, Query(max_length=100)] = None,
    system: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """A first load: every current record (除票 too) after 宛名番号 `start`, in order; `changes_from` is the cursor
    the feed continues from (take the first page's)."""
    number = _check(j, grant, "transfer:extract", SCOPE_EXTRACT, include, system)
    dk: Desk = desk(request)
    try:
        head = feed.head(j.uow)
        records, next_start = feed.extract_page(
            j.uow, grant.system_id, start, limit, fields=parse_fields(fields), include_my_number=number
        )
    except OutsideBasis as error:
        raise _refused(j, grant, "transfer:extract", error) from None
    persons = [r["addressee_number"] for r in records]
    if records:
        items = sorted({k for r in records for k in r["record"]} - set(KEY_FIELDS))
        feed.log_delivery(
            j.uow,
            grant.system_id,
            persons,
            items,
            "pull",
            client_id=grant.client_id,
            action="transfer:extract",
        )
    return {"records": records, "next_start": next_start, "changes_from": dk.cursor(grant.system_id, head)}
