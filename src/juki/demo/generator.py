"""A synthetic 小平市 for `juki demo`: households, names, addresses and histories that look real, from a seed.

What `build_demo` makes:
- exactly `residents` active residents, in the usual kinds of household (people alone, couples, families,
  single parents, three generations, elderly people alone), about 2% of them foreign residents;
- on top of them about 5% removed records (除票): households and persons who moved out, and deaths. Each removed
  person has two versions (the arrival, then the removal); everyone else has one (転入, 国外転入 or 出生);
- the demo staff accounts, written to `accounts_path`, and `register_kind = demo` in the settings.

The same seed on the same day gives the same register: dates are drawn relative to today, so ages, 在留期間 and
recent moves never go stale. Passwords are the exception: they are random, not derived from the seed.

The city is made in demo/households.py (who lives together: plans) and demo/city.py (records), from the source
tables of demo/sources.py; the accounts and the risk controls' demo data in demo/accounts.py (and the コンビニ交付
cards in demo/cards.py). This module writes them.

The generator only makes plausible data; the register's invariants (one 世帯主 per household, valid and unique
numbers, parseable addresses) are checked by tests/integration/test_demo.py. The rows go in through
`adapters.bulk`, a few transactions of 50,000 persons, rather than a filing per person, which would take minutes
for 200,000 people; `register_kind = demo` is written last, so only a complete build is ever reused.
From IN_PROCESS_BELOW residents on, a worker process (multiprocessing "spawn") makes the rows while this process
writes them; a script that calls `build_demo` for such a city needs the usual `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import multiprocessing
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from queue import Empty
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from juki.adapters.bulk import PreparedBatch, import_register, prepare
from juki.bootstrap import Juki
from juki.demo.accounts import (
    DEMO_ACCOUNTS,
    create_accounts,
    recreate_accounts,
    set_up_controls,
    write_accounts,
)
from juki.demo.city import City
from juki.domain.dates import today_jst
from juki.policy.roles import SYSTEM
from juki.services.auth import DEMO_REGISTER

BATCH_PERSONS = 5_000
# A commit every 50,000 persons lets SQLite copy its WAL into the database while the worker makes the next rows;
# one transaction for 200,000 ended in a ten-second commit with nothing else to do.
TRANSACTION_PERSONS = 50_000
REGISTER_KIND = "register_kind"  # the settings key that services.auth reads


class NotADemoRegister(RuntimeError):
    """The database holds a register that is not a demo: demo data and demo accounts must never go into it."""


def build_demo(j: Juki, residents: int, seed: int, accounts_path: Path, console: Console) -> None:
    """Fill an empty register with a synthetic city of `residents` active residents, or reuse a demo register.

    `residents` counts active residents only; about 5% removed records (除票) come on top of them. A register
    that already has residents is reused as it is; only a missing accounts file is made again (see
    `recreate_accounts`). A register marked as anything but a demo is refused.

    The accounts are created just before the residents are written. An import that fails in its first 50,000
    persons leaves no residents, and a second run starts again (with a new set of accounts beside the unused
    ones); one that fails later leaves residents without the demo mark, and a second run refuses the file.
    """
    if residents < 1:
        raise ValueError("residents must be at least 1")
    with j.uow() as uow:
        kind = uow.staff.setting(REGISTER_KIND)
        existing = sum(n for key, n in uow.queries.counts().items() if key != "households")
    if kind not in (None, DEMO_REGISTER) or (existing and kind != DEMO_REGISTER):
        # An interrupted build leaves residents without the mark, too: such a file is removed, not repaired.
        raise NotADemoRegister(
            "このデータベースはデモ用の台帳ではありません（デモの作成が中断された場合は、ファイルを削除してやり直してください）"
        )
    if existing:
        console.print(f"既存のデモ台帳を使います（住民票 {existing:,} 件）")
        if not accounts_path.exists():
            recreate_accounts(j, accounts_path, console)
        return
    today = j.today or today_jst()
    filing_id = f"IMPORT-{today:%Y%m%d}"
    with _prepared_batches(residents, seed, today, filing_id) as batches:
        # Hashing the passwords (argon2, slow on purpose) overlaps with the worker making the first batches.
        accounts = create_accounts(j)
        _import(j, batches, residents, filing_id, console)
    set_up_controls(j, accounts, seed)
    write_accounts(accounts_path, accounts)
    console.print(f"デモ用アカウントを {accounts_path} に書き出しました")


def _import(
    j: Juki, batches: Iterator[PreparedBatch], residents: int, filing_id: str, console: Console
) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("小平市の住民を生成中", total=residents)
        summary = import_register(
            j.engine,
            batches,
            actor=SYSTEM,
            filing_id=filing_id,
            vault=j.vault,
            settings={REGISTER_KIND: DEMO_REGISTER},  # written last: the mark of a complete demo
            progress=lambda batch: bar.advance(task, batch.active),
            transaction_persons=TRANSACTION_PERSONS,
            event_key=j.event_key,  # the events carry the number sealed, as a filing's do (the CS needs it)
        )
    console.print(
        f"住民 {residents:,} 人・除票 {summary.persons - residents:,} 件・"
        f"世帯 {summary.households:,} を作成しました"
    )


# --- a worker process that makes the rows while this one writes them ------------------------------------------

IN_PROCESS_BELOW = 5_000  # smaller cities are made in this process: a worker takes about a second to start


@dataclass(frozen=True)
class _Failed:
    message: str  # the worker's exception as text (an exception object may not survive pickling)


def _batches(residents: int, seed: int, today: date, filing_id: str) -> Iterator[PreparedBatch]:
    for batch in City(random.Random(seed), today).batches(residents, BATCH_PERSONS):
        yield prepare(batch, filing_id, SYSTEM.staff_id, SYSTEM.terminal)


@contextmanager
def _prepared_batches(
    residents: int, seed: int, today: date, filing_id: str
) -> Iterator[Iterator[PreparedBatch]]:
    """The city as prepared batches. Making and converting the rows costs about as much CPU as writing them, so
    for a large city a worker process does it, and the two halves overlap on a machine with two cores.
    The result is the same either way (one seeded Random, used in the same order)."""
    if residents < IN_PROCESS_BELOW:
        yield _batches(residents, seed, today, filing_id)
        return
    # spawn, not fork: a clean interpreter that inherits no database connections and no threads
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue(maxsize=3)
    worker = ctx.Process(
        target=_produce,
        args=(residents, seed, today, filing_id, queue),
        daemon=True,
        name="juki-demo-generator",
    )
    worker.start()
    try:
        yield _drain(queue, worker)
    finally:
        if worker.is_alive():  # the writer stopped early (an error, Ctrl-C): the rows are no longer wanted
            worker.terminate()
        worker.join()


def _produce(residents: int, seed: int, today: date, filing_id: str, queue: Any) -> None:
    """Runs in the worker: every prepared batch, then None (or _Failed)."""
    try:
        for batch in _batches(residents, seed, today, filing_id):
            queue.put(batch)
        queue.put(None)
    except BaseException as exc:
        queue.put(_Failed(f"{type(exc).__name__}: {exc}"))
        raise


def _drain(queue: Any, worker: Any) -> Iterator[PreparedBatch]:
    while True:
        try:
            item = queue.get(timeout=5)
        except Empty:
            if worker.is_alive():
                continue
            raise RuntimeError(
                f"デモデータの生成プロセスが終了しました（終了コード {worker.exitcode}）"
            ) from None
        if item is None:
            return
        if isinstance(item, _Failed):
            raise RuntimeError(f"デモデータの生成に失敗しました: {item.message}")
        yield item


__all__ = ["DEMO_ACCOUNTS", "NotADemoRegister", "build_demo", "create_accounts", "write_accounts"]
