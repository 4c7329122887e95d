"""A synthetic 小平市 for `juki demo`: households, names, addresses and histories that look real, from a seed.

What `build_demo` makes:
- exactly `residents` active residents, in the usual kinds of household (people alone, couples, families,
  single parents, three generations, elderly people alone), about 2% of them foreign residents;
- on top of them about 5% removed records (除票): households and persons who moved out, and deaths. Each removed
  person has two versions (the arrival, then the removal); everyone else has one (転入, 国外転入 or 出生);
- the demo staff accounts, written to `accounts_path`, and `register_kind = demo` in the settings.

The same seed on the same day gives the same register: dates are drawn relative to today, so ages, 在留期間 and
recent moves never go stale. Passwords are the exception: they are random, not derived from the seed.

This module only makes plausible data; the register's invariants (one 世帯主 per household, valid and unique
numbers, parseable addresses) are checked by tests/integration/test_demo.py. The rows go in through
`adapters.bulk`, a few transactions of 50,000 persons, rather than a filing per person, which would take minutes
for 200,000 people; `register_kind = demo` is written last, so only a complete build is ever reused.
From IN_PROCESS_BELOW residents on, a worker process (multiprocessing "spawn") makes the rows while this process
writes them; a script that calls `build_demo` for such a city needs the usual `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import random
import secrets
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from queue import Empty
from typing import Any, TypeVar

from faker.providers.address.ja_JP import Provider as JaAddress
from faker.providers.person.ja_JP import Provider as JaPerson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from juki.adapters.bulk import HouseholdRow, ImportBatch, PreparedBatch, import_register, prepare
from juki.bootstrap import Juki
from juki.domain.address import MUNICIPALITY, PREFECTURE, Town, towns
from juki.domain.dates import today_jst
from juki.domain.identifiers import (
    local_gov_code_check_digit,
    make_addressee_number,
    make_household_number,
    my_number_check_digit,
    resident_code_check_digit,
)
from juki.domain.intake import CITY_CODE
from juki.domain.model import (
    ACTIVE,
    REMOVED,
    Address,
    Enrollment,
    ForeignResidentItems,
    MoveOutData,
    Removal,
    ResidentRecord,
    Version,
)
from juki.policy.roles import STRONG_FACTOR_ROLES, SYSTEM, Actor
from juki.services.auth import DEMO_REGISTER, create_staff

REMOVED_SHARE = 0.05  # removed records, as a share of active residents
FOREIGN_SHARE = 0.02  # 小平市 has about 2% foreign residents
BATCH_PERSONS = 5_000
# A commit every 50,000 persons lets SQLite copy its WAL into the database while the worker makes the next rows;
# one transaction for 200,000 ended in a ten-second commit with nothing else to do.
TRANSACTION_PERSONS = 50_000
HOUSEHOLDER = "世帯主"
MOVE_IN, MOVE_IN_FROM_ABROAD, BIRTH, MOVE_OUT, DEATH = "転入", "国外転入", "出生", "転出", "死亡"
REGISTER_KIND = "register_kind"  # the settings key that services.auth reads
FOREIGN_REGISTER_START = date(2012, 7, 9)  # foreign residents entered the register on this day (改正住基法)


class NotADemoRegister(RuntimeError):
    """The database holds a register that is not a demo: demo data and demo accounts must never go into it."""


def build_demo(j: Juki, residents: int, seed: int, accounts_path: Path, console: Console) -> None:
    """Fill an empty register with a synthetic city of `residents` active residents, or reuse a demo register.

    `residents` counts active residents only; about 5% removed records (除票) come on top of them. A register
    that already has residents is reused as it is; only a missing accounts file is made again (see
    `_recreate_accounts`). A register marked as anything but a demo is refused.

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
            _recreate_accounts(j, accounts_path, console)
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
    for batch in _City(random.Random(seed), today).batches(residents):
        yield prepare(batch, filing_id, SYSTEM.staff_id)


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


# --- demo accounts ---------------------------------------------------------------------------------------------

# (username, role, display name, department)
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("clerk1", "clerk", "市民課 窓口職員1", None),
    ("clerk2", "clerk", "市民課 窓口職員2", None),
    ("supervisor", "supervisor", "市民課 係長", None),
    ("auditor", "auditor", "監査担当", None),
    ("admin", "admin", "システム管理者", None),
    ("cs-operator", "cs_operator", "住基ネットCS担当", None),
    ("contractor", "contractor", "委託事業者 作業員", None),
    ("hoken-nenkin", "department", "保険年金課（庁内連携）", "保険年金課"),
    ("senkyo", "department", "選挙管理委員会（庁内連携）", "選挙管理委員会"),
)


def _free_username(j: Juki, base: str) -> str:
    """`base`, or `base-2`, `base-3` … when an earlier run (or `juki init`) already took it."""
    name, n = base, 1
    with j.uow() as uow:
        while uow.staff.by_username(name) is not None:
            n += 1
            name = f"{base}-{n}"
    return name


def create_accounts(j: Juki) -> list[dict[str, str]]:
    """Create the demo accounts with fresh random passwords; return what the accounts file lists."""
    accounts = []
    for base, role, display_name, department in DEMO_ACCOUNTS:
        username = _free_username(j, base)
        password = secrets.token_urlsafe(12)
        secret = create_staff(
            j.uow, username, display_name, role, password, department=department, is_demo=True
        )
        account = {
            "username": username,
            "password": password,
            "totp_secret": secret,
            "role": role,
            "display_name": display_name,
        }
        if department:
            account["department"] = department
        accounts.append(account)
    return accounts


def set_up_controls(j: Juki, accounts: list[dict[str, str]], seed: int) -> None:
    """What the risk controls need to be seen in a demo.

    - the CS operator gets a one-time enrolment code (7 days) to register an authenticator: without one it
      cannot sign in (WebAuthn is required for that role);
    - the contractor gets a work order: reading the register for 30 days;
    - three residents are under a 支援措置, so the flags and the alerts can be seen.
    """
    from juki.services import protection, staff_admin, webauthn

    by_role = {a["role"]: a for a in accounts}
    admin = Actor(by_role["admin"]["username"], by_role["admin"]["display_name"], "admin", "demo")
    boss = by_role["supervisor"]
    now = datetime.now(UTC)
    for account in accounts:
        if account["role"] in STRONG_FACTOR_ROLES:
            code = webauthn.issue_enrolment_code(
                j.uow, admin, account["username"], valid_for=timedelta(days=7)
            )
            account["enrolment_code"] = code.code
    staff_admin.give_work_order(
        j.uow,
        Actor(boss["username"], boss["display_name"], "supervisor", "demo", procedure="administration"),
        {
            "contractor_id": by_role["contractor"]["username"],
            "procedure": "resident_record",
            "permissions": ["register:read"],
            "purpose": "住民記録システムの保守点検（デモ）",
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        },
    )
    officer = Actor(boss["username"], boss["display_name"], "supervisor", "demo", procedure="protection")
    with j.uow() as uow:
        active = uow.queries.active_addressee_numbers()
    today = j.today or today_jst()
    for number in random.Random(seed).sample(active, min(3, len(active))):
        protection.set_measure(
            j.uow,
            officer,
            {
                "subject_kind": "person",
                "subject": number,
                "reason": "DV等支援措置申出書による（デモ）",
                "requester": "本人",
                "received_on": today.isoformat(),
                "starts_on": today.isoformat(),
            },
        )
    from juki.demo.cards import issue_demo_cards  # コンビニ交付: test PKI, a demo kiosk, residents' cards

    issue_demo_cards(j, accounts, seed)


def _recreate_accounts(j: Juki, path: Path, console: Console) -> None:
    """The accounts file is gone, and with it the only copy of the passwords (the database keeps hashes).

    The old accounts are left as they are (they may appear in the operation log); a new set is created beside
    them, with a suffix where a username is taken.
    """
    write_accounts(path, create_accounts(j))
    console.print(f"アカウント一覧がなかったため、新しいデモ用アカウントを作成し {path} に書き出しました")


def write_accounts(path: Path, accounts: list[dict[str, str]]) -> None:
    """Write atomically and readable by the owner only: the file holds passwords and TOTP secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(accounts, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# --- source tables ---------------------------------------------------------------------------------------------

Pair = tuple[str, str]  # (written form, katakana reading)
T = TypeVar("T")

# Faker's ja_JP tables give names with consistent readings; they are sampled with the city's own Random so that
# there is one seeded source of randomness (and it is much faster than a Faker call per name).
_FAMILY: tuple[Pair, ...] = tuple((p[0], p[1]) for p in JaPerson.last_name_pairs)
_FAMILY_CUM = tuple(accumulate(float(w) for w in JaPerson.last_name_pairs.values()))
_GIVEN = {
    "male": tuple((p[0], p[1]) for p in JaPerson.first_name_male_pairs),
    "female": tuple((p[0], p[1]) for p in JaPerson.first_name_female_pairs),
}
_BUILDINGS: tuple[str, ...] = (*JaAddress.building_names, "レジデンス", "メゾン", "グランドール")


@dataclass(frozen=True)
class _Municipality:
    name: str  # 都道府県 + 市区町村 as written
    code_body: str  # 地方公共団体コード without its check digit
    towns: tuple[str, ...]

    @cached_property
    def code(self) -> str:
        return self.code_body + local_gov_code_check_digit(self.code_body)


# Where people came from and went to: neighbours, Tokyo wards, and a few big cities (ward codes for 政令市).
_OTHER_MUNICIPALITIES = (
    _Municipality("東京都国分寺市", "13214", ("本町", "南町", "東恋ヶ窪")),
    _Municipality("東京都小金井市", "13210", ("本町", "緑町", "貫井北町")),
    _Municipality("東京都東村山市", "13213", ("本町", "栄町", "萩山町")),
    _Municipality("東京都西東京市", "13229", ("田無町", "南町", "ひばりが丘")),
    _Municipality("東京都立川市", "13202", ("曙町", "錦町", "柴崎町")),
    _Municipality("東京都武蔵野市", "13203", ("吉祥寺本町", "中町", "境")),
    _Municipality("東京都府中市", "13206", ("宮町", "寿町", "府中町")),
    _Municipality("東京都東大和市", "13223", ("中央", "向原", "桜が丘")),
    _Municipality("東京都三鷹市", "13204", ("下連雀", "上連雀", "井の頭")),
    _Municipality("東京都八王子市", "13201", ("旭町", "明神町", "子安町")),
    _Municipality("東京都新宿区", "13104", ("西新宿", "高田馬場", "四谷")),
    _Municipality("東京都杉並区", "13115", ("阿佐谷南", "荻窪", "高円寺北")),
    _Municipality("東京都練馬区", "13120", ("練馬", "石神井町", "大泉学園町")),
    _Municipality("埼玉県所沢市", "11208", ("東町", "日吉町", "小手指町")),
    _Municipality("埼玉県さいたま市浦和区", "11107", ("高砂", "常盤", "岸町")),
    _Municipality("神奈川県横浜市港北区", "14109", ("日吉", "大倉山", "新横浜")),
    _Municipality("北海道札幌市中央区", "01101", ("北一条西", "南三条西")),
    _Municipality("宮城県仙台市青葉区", "04101", ("一番町", "国分町")),
    _Municipality("愛知県名古屋市中区", "23106", ("栄", "錦", "丸の内")),
    _Municipality("大阪府大阪市北区", "27127", ("梅田", "天神橋", "中之島")),
    _Municipality("福岡県福岡市博多区", "40132", ("博多駅前", "中洲", "祇園町")),
)


@dataclass(frozen=True)
class _Nation:
    name: str  # 国籍・地域 as the register writes it
    weight: int
    families: tuple[Pair, ...]
    male: tuple[Pair, ...]
    female: tuple[Pair, ...]
    statuses: tuple[str, ...]  # 在留資格 of people who come alone
    abroad: str  # a previous address abroad
    wife_keeps_name: bool  # 夫婦別姓 by the law of the nationality


# fmt: off
_NATIONS = (
    _Nation("中国", 40, (("王", "ワン"), ("李", "リ"), ("張", "チャン"), ("劉", "リュウ"), ("陳", "チェン"),
                          ("楊", "ヤン"), ("趙", "チャオ"), ("黄", "ホアン"), ("周", "ジョウ"), ("呉", "ウー")),
            (("偉", "ウェイ"), ("浩", "ハオ"), ("磊", "レイ"), ("軍", "ジュン"), ("涛", "タオ"), ("明", "ミン")),
            (("芳", "ファン"), ("娜", "ナー"), ("静", "ジン"), ("敏", "ミン"), ("麗", "リー"), ("婷", "ティン")),
            ("留学", "技術・人文知識・国際業務", "永住者", "経営・管理"), "中国 上海市", True),
    _Nation("韓国", 15, (("金", "キム"), ("李", "イ"), ("朴", "パク"), ("崔", "チェ"), ("鄭", "チョン"), ("姜", "カン")),
            (("民俊", "ミンジュン"), ("志勲", "ジフン"), ("英浩", "ヨンホ"), ("成民", "ソンミン")),
            (("瑞妍", "ソヨン"), ("秀賢", "スヒョン"), ("恩恵", "ウネ"), ("知恩", "ジウン")),
            ("留学", "技術・人文知識・国際業務", "永住者"), "韓国 ソウル特別市", True),
    _Nation("ベトナム", 14, (("NGUYEN", "グエン"), ("TRAN", "チャン"), ("LE", "レ"), ("PHAM", "ファム"),
                             ("HOANG", "ホアン"), ("VU", "ヴー")),
            (("VAN AN", "ヴァン アン"), ("DUC MINH", "ドゥック ミン"), ("QUANG HUY", "クアン フイ")),
            (("THI HOA", "ティ ホア"), ("THI LAN", "ティ ラン"), ("NGOC ANH", "ゴック アイン")),
            ("技能実習", "特定技能1号", "留学", "技術・人文知識・国際業務"), "ベトナム ハノイ市", True),
    _Nation("フィリピン", 8, (("SANTOS", "サントス"), ("REYES", "レイエス"), ("CRUZ", "クルス"),
                               ("GARCIA", "ガルシア"), ("BAUTISTA", "バウティスタ")),
            (("JOSE", "ホセ"), ("MARK", "マーク"), ("JOHN PAUL", "ジョン ポール")),
            (("MARIA", "マリア"), ("ANGELICA", "アンジェリカ"), ("JOY", "ジョイ")),
            ("永住者", "定住者", "特定技能1号"), "フィリピン マニラ", False),
    _Nation("ネパール", 7, (("GURUNG", "グルン"), ("SHRESTHA", "シュレスタ"), ("TAMANG", "タマン"), ("RAI", "ライ")),
            (("RAM", "ラム"), ("BIKASH", "ビカス"), ("SURESH", "スレス")),
            (("SITA", "シータ"), ("ANITA", "アニタ"), ("PRIYA", "プリヤ")),
            ("留学", "技能", "技術・人文知識・国際業務"), "ネパール カトマンズ", False),
    _Nation("台湾", 5, (("陳", "チェン"), ("林", "リン"), ("黄", "ホアン"), ("張", "チャン")),
            (("志明", "ジーミン"), ("家豪", "ジャーハオ")), (("怡君", "イージュン"), ("淑芬", "シューフェン")),
            ("留学", "技術・人文知識・国際業務", "永住者"), "台湾 台北市", True),
    _Nation("米国", 4, (("SMITH", "スミス"), ("JOHNSON", "ジョンソン"), ("BROWN", "ブラウン"), ("MILLER", "ミラー")),
            (("JOHN", "ジョン"), ("MICHAEL", "マイケル"), ("DAVID", "デイビッド")),
            (("EMILY", "エミリー"), ("SARAH", "サラ"), ("JESSICA", "ジェシカ")),
            ("教授", "技術・人文知識・国際業務", "永住者"), "米国 カリフォルニア州", False),
    _Nation("インドネシア", 4, (("SANTOSO", "サントソ"), ("WIJAYA", "ウィジャヤ"), ("HIDAYAT", "ヒダヤット")),
            (("AGUS", "アグス"), ("BUDI", "ブディ")), (("SITI", "シティ"), ("DEWI", "デウィ")),
            ("技能実習", "特定技能1号", "留学"), "インドネシア ジャカルタ", False),
)
# fmt: on
_NATION_CUM = tuple(accumulate(n.weight for n in _NATIONS))
_FAMILY_STATUSES = ("永住者", "技術・人文知識・国際業務", "経営・管理", "定住者")  # may bring a family
_PERIODS = {"1年": 1, "3年": 3, "5年": 5}
_REMOVALS = ("left", "died", "child", "spouse", "parent")  # kinds of removed record, see _People.with_removal
_REMOVALS_CUM = tuple(accumulate((35, 15, 25, 15, 10)))


# --- households as plans: who lives together, born when, how they came and went ---------------------------------


@dataclass
class _Member:
    relationship: str
    sex: str
    birth: date
    family: Pair
    given: Pair
    register_head: str | None = None  # 戸籍の筆頭者 (Japanese nationals only)
    foreign: ForeignResidentItems | None = None
    mother: int | None = (
        None  # index of the mother in the household: a child arrives with her or is born here
    )
    married_in: bool = False  # joined the household on marriage (子の妻), not with it
    leaves: str | None = None  # MOVE_OUT or DEATH for a removed record


@dataclass
class _Plan:
    members: list[_Member]
    arrived: date  # when the household came to the city
    from_abroad: bool = False
    apartment: float = 0.3  # chance of a 方書
    leaves: str | None = None  # the whole household moved out (MOVE_OUT) or its only member died (DEATH)


def _years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _birthday(birth: date, age: int) -> date:
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:  # born on 29 February
        return date(birth.year + age, 3, 1)


def _weighted(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One item by cumulative weight: random.choices without the list it builds (called per person)."""
    return items[bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(items) - 1)]


def _full(family: Pair, given: Pair) -> str:
    return f"{family[0]} {given[0]}"


class _People:
    """Household plans: the kinds of household a Japanese suburb has, with birth dates that fit together."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self._cards: set[str] = set()
        # (weight, kind): shares of household kinds, roughly those of a Tokyo suburb
        japanese: list[tuple[int, Callable[[], _Plan]]] = [
            (22, lambda: self.alone(19, 39)),
            (8, lambda: self.alone(40, 64)),
            (12, lambda: self.alone(65, 98, female_share=0.7)),
            (17, lambda: self.couple(25, 88)),
            (25, self.family),
            (5, self.single_parent),
            (5, self.with_parents),
            (4, self.with_grandchildren),
        ]
        foreign: list[tuple[int, Callable[[], _Plan]]] = [
            (50, self.foreign_alone),
            (25, self.foreign_family),
            (10, self.special_permanent),
            (15, self.mixed_marriage),
        ]
        self._japanese_kinds = [k for _, k in japanese]
        self._japanese_cum = list(accumulate(w for w, _ in japanese))
        self._foreign_kinds = [k for _, k in foreign]
        self._foreign_cum = list(accumulate(w for w, _ in foreign))

    # dates

    def between(self, lo: date, hi: date) -> date:
        return lo + timedelta(days=self.rng.randint(0, max(0, (hi - lo).days)))

    def born(self, youngest: int, oldest: int) -> date:
        return self.between(
            self.today - _years(oldest + 1) + timedelta(days=1), self.today - _years(youngest)
        )

    def arrival(
        self, head: _Member, earliest_age: int = 20, within_years: int = 50, before_days: int = 1
    ) -> date:
        lo = max(head.birth + _years(earliest_age), self.today - _years(within_years))
        return self.between(lo, self.today - timedelta(days=before_days))

    # people

    def family_name(self) -> Pair:
        return _weighted(self.rng, _FAMILY, _FAMILY_CUM)

    def japanese(
        self, relationship: str, sex: str, birth: date, family: Pair, head: str | None = None
    ) -> _Member:
        given = self.rng.choice(_GIVEN[sex])
        return _Member(relationship, sex, birth, family, given, head or _full(family, given))

    def spouse(self, partner: _Member, relationship: str, family: Pair) -> _Member:
        """A spouse of the other sex, a few years younger (wife) or older (husband)."""
        gap = self.rng.randint(-2, 6)
        sex = "female" if partner.sex == "male" else "male"
        birth = partner.birth + (_years(gap) if sex == "female" else -_years(gap))
        birth = min(birth, self.today - _years(18))
        return self.japanese(relationship, sex, birth, family, partner.register_head)

    def children(
        self,
        mother_index: int,
        members: list[_Member],
        relationship: str,
        family: Pair,
        count: int,
        head: str | None,
    ) -> list[_Member]:
        mother = members[mother_index]
        births = sorted(mother.birth + _years(self.rng.uniform(22, 42)) for _ in range(count))
        kids = []
        for birth in births:
            if birth < self.today:  # a child not yet born is left out
                kid = self.japanese(relationship, self.rng.choice(("male", "female")), birth, family, head)
                kid.mother = mother_index
                kids.append(kid)
        return kids

    # Japanese households

    def alone(self, youngest: int, oldest: int, female_share: float = 0.5) -> _Plan:
        sex = "female" if self.rng.random() < female_share else "male"
        head = self.japanese(HOUSEHOLDER, sex, self.born(youngest, oldest), self.family_name())
        return _Plan([head], self.arrival(head, 18), apartment=0.7 if youngest < 40 else 0.2)

    def couple(self, youngest: int, oldest: int) -> _Plan:
        family = self.family_name()
        head = self.japanese(HOUSEHOLDER, "male", self.born(youngest, oldest), family)
        return _Plan([head, self.spouse(head, "妻", family)], self.arrival(head, 22), apartment=0.4)

    def family(self, kids: int | None = None, youngest: int = 28, oldest: int = 55) -> _Plan:
        plan = self.couple(youngest, oldest)
        count = kids if kids is not None else self.rng.choice((1, 1, 2, 2, 2, 3))
        family, head = plan.members[0].family, plan.members[0].register_head
        plan.members += self.children(1, plan.members, "子", family, count, head)
        plan.apartment = 0.3
        return plan

    def single_parent(self) -> _Plan:
        plan = self.alone(28, 55, female_share=0.85)
        head = plan.members[0]
        if head.sex == "female":
            plan.members += self.children(
                0, plan.members, "子", head.family, self.rng.randint(1, 2), head.register_head
            )
        else:  # a father alone: the children's mother is not in the household, so date them from him
            plan.members += [
                self.japanese(
                    "子",
                    self.rng.choice(("male", "female")),
                    self.between(head.birth + _years(25), self.today - _years(1)),
                    head.family,
                    head.register_head,
                )
            ]
        return plan

    def with_parents(self) -> _Plan:
        """世帯主, 妻, 子 and the householder's (or the wife's) parents: three generations, parents at the end."""
        plan = self.family(self.rng.randint(0, 2))
        head, wife = plan.members[0], plan.members[1]
        if self.rng.random() < 0.15:  # the wife's mother
            mother_birth = wife.birth - _years(self.rng.uniform(24, 36))
            plan.members.append(self.japanese("妻の母", "female", mother_birth, self.family_name()))
            return plan
        father = self.japanese("父", "male", head.birth - _years(self.rng.uniform(26, 38)), head.family)
        mother = self.spouse(father, "母", head.family)
        plan.members += [p for p in (father, mother) if self.rng.random() < 0.7] or [mother]
        plan.arrived = self.arrival(head, 25)
        return plan

    def with_grandchildren(self) -> _Plan:
        """世帯主, 妻, 子, 子の妻, 子の子: an older couple with their son's family."""
        plan = self.couple(58, 85)
        head, family = plan.members[0], plan.members[0].family
        son = self.japanese("子", "male", plan.members[1].birth + _years(self.rng.uniform(24, 36)), family)
        son.mother = 1
        daughter_in_law = self.spouse(son, "子の妻", family)
        daughter_in_law.married_in = True
        plan.members += [son, daughter_in_law]
        plan.members += self.children(
            3, plan.members, "子の子", family, self.rng.randint(1, 3), son.register_head
        )
        plan.arrived = self.arrival(head, 25)
        return plan

    def japanese_household(self) -> _Plan:
        return _weighted(self.rng, self._japanese_kinds, self._japanese_cum)()

    # foreign residents

    def card_number(self) -> str:
        """在留カード番号 (or 特別永住者証明書番号): 2 letters, 8 digits, 2 letters, unique in the city."""
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        while True:
            number = (
                self.rng.choice(letters)
                + self.rng.choice(letters)
                + f"{self.rng.randrange(10**8):08d}"
                + self.rng.choice(letters)
                + self.rng.choice(letters)
            )
            if number not in self._cards:
                self._cards.add(number)
                return number

    def residence(self, nation: str, status: str, since: date) -> ForeignResidentItems:
        since = max(since, FOREIGN_REGISTER_START)
        if status == "永住者":
            return ForeignResidentItems(
                nation, "中長期在留者", status, None, None, self.card_number(), foreign_resident_since=since
            )
        period = self.rng.choice(tuple(_PERIODS))
        expires = self.between(self.today + timedelta(days=30), self.today + _years(_PERIODS[period]))
        return ForeignResidentItems(
            nation, "中長期在留者", status, period, expires, self.card_number(), foreign_resident_since=since
        )

    def foreigner(
        self,
        nation: _Nation,
        relationship: str,
        sex: str,
        birth: date,
        family: Pair,
        status: str,
        since: date,
    ) -> _Member:
        given = self.rng.choice(nation.male if sex == "male" else nation.female)
        return _Member(
            relationship, sex, birth, family, given, None, self.residence(nation.name, status, since)
        )

    def foreign_household(self) -> _Plan:
        return _weighted(self.rng, self._foreign_kinds, self._foreign_cum)()

    def nation(self) -> _Nation:
        return _weighted(self.rng, _NATIONS, _NATION_CUM)

    def foreign_alone(self) -> _Plan:
        nation = self.nation()
        arrived = self.between(self.today - _years(8), self.today - timedelta(days=1))
        head = self.foreigner(
            nation,
            HOUSEHOLDER,
            self.rng.choice(("male", "female")),
            self.born(19, 40),
            self.rng.choice(nation.families),
            self.rng.choice(nation.statuses),
            arrived,
        )
        return _Plan([head], arrived, from_abroad=self.rng.random() < 0.7, apartment=0.9)

    def foreign_family(self) -> _Plan:
        nation = self.nation()
        arrived = self.between(self.today - _years(12), self.today - timedelta(days=1))
        status = self.rng.choice(_FAMILY_STATUSES)
        dependant = "永住者の配偶者等" if status == "永住者" else "家族滞在"
        family = self.rng.choice(nation.families)
        head = self.foreigner(nation, HOUSEHOLDER, "male", self.born(27, 50), family, status, arrived)
        wife_family = self.rng.choice(nation.families) if nation.wife_keeps_name else family
        wife = self.foreigner(
            nation,
            "妻",
            "female",
            min(head.birth + _years(self.rng.randint(-2, 6)), self.today - _years(20)),
            wife_family,
            dependant,
            arrived,
        )
        members = [head, wife]
        for birth in sorted(
            wife.birth + _years(self.rng.uniform(24, 40)) for _ in range(self.rng.randint(0, 2))
        ):
            if birth < self.today:
                kid = self.foreigner(
                    nation,
                    "子",
                    self.rng.choice(("male", "female")),
                    birth,
                    family,
                    "永住者" if status == "永住者" else "家族滞在",
                    max(arrived, birth),
                )
                kid.mother = 1
                members.append(kid)
        return _Plan(members, arrived, from_abroad=self.rng.random() < 0.6, apartment=0.6)

    def special_permanent(self) -> _Plan:
        """特別永住者 (韓国・朝鮮), born in Japan; many use a registered Japanese alias (通称)."""
        nation = _NATIONS[1]
        plan = self.couple(30, 90) if self.rng.random() < 0.5 else self.alone(30, 90)
        since = max(plan.arrived, FOREIGN_REGISTER_START)
        plan.arrived = self.between(since, self.today - timedelta(days=1))
        alias_family = self.family_name()
        for m in plan.members:
            m.family = self.rng.choice(nation.families)  # husband and wife keep their own surnames
            m.given = self.rng.choice(nation.male if m.sex == "male" else nation.female)
            m.register_head = None
            alias = (alias_family, self.rng.choice(_GIVEN[m.sex])) if self.rng.random() < 0.6 else None
            m.foreign = ForeignResidentItems(
                self.rng.choice(("韓国",) * 9 + ("朝鮮",)),
                "特別永住者",
                special_permanent_resident_certificate_number=self.card_number(),
                alias_name=_full(*alias) if alias else None,
                alias_name_kana=f"{alias[0][1]} {alias[1][1]}" if alias else None,
                foreign_resident_since=FOREIGN_REGISTER_START,
            )
        return plan

    def mixed_marriage(self) -> _Plan:
        """A Japanese householder and a foreign wife (日本人の配偶者等); the children are Japanese."""
        plan = self.family(self.rng.randint(0, 2))
        # foreign residents are in the register since 2012 (before, they were in 外国人登録)
        plan.arrived = max(plan.arrived, FOREIGN_REGISTER_START)
        nation = self.rng.choice(_NATIONS[:4])
        wife = plan.members[1]
        wife.family, wife.register_head = self.rng.choice(nation.families), None
        wife.given = self.rng.choice(nation.female)
        wife.foreign = self.residence(nation.name, "日本人の配偶者等", plan.arrived)
        return plan

    # removed records

    def with_removal(self) -> _Plan:
        """A household that left whole, an elderly person who died alone, or a household that lost a member."""
        kind = _weighted(self.rng, _REMOVALS, _REMOVALS_CUM)
        if kind == "left":
            plan = self.rng.choice((lambda: self.alone(19, 45), lambda: self.couple(25, 70), self.family))()
            plan.leaves, plan.arrived = MOVE_OUT, self.arrival(plan.members[0], 18, 30, before_days=400)
        elif kind == "died":
            plan = self.alone(70, 98, female_share=0.6)
            plan.leaves = DEATH
        elif kind == "child":  # a grown-up child who moved out (to study, to work, to marry)
            plan = self.family(0, 48, 68)
            plan.members += self.children(
                1, plan.members, "子", plan.members[0].family, 1, plan.members[0].register_head
            )
            plan.members[-1:] = [
                dataclasses.replace(m, leaves=MOVE_OUT)
                for m in plan.members[-1:]
                if _age(m.birth, self.today) >= 20
            ]
            plan.arrived = self.arrival(plan.members[0], 22)
        elif kind == "spouse":  # a widower: his late wife's record stays as a 除票
            plan = self.couple(70, 95)
            plan.members[1].leaves = DEATH
        else:
            plan = self.with_parents()
            plan.members[-1].leaves = DEATH
        return plan


# --- from plans to records ---------------------------------------------------------------------------------------


_NONE = Enrollment()  # not enrolled (frozen, so one instance serves everyone)


@dataclass
class _Counts:
    active: int = 0
    removed: int = 0
    foreign: int = 0
    addressee: int = 0  # last 宛名番号 sequence used
    household: int = 0  # last 世帯番号 sequence used


@dataclass
class _Insurance:
    health: Enrollment = _NONE
    late_elderly: Enrollment = _NONE
    long_term_care: Enrollment = _NONE
    pension: Enrollment = _NONE


@dataclass
class _Arrival:
    reason: str
    on: date
    previous: Address | None


class _City:
    """Turns household plans into versions with numbers, addresses, dates and the register's other items."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.people = _People(rng, today)
        self.towns = towns()
        self.district = {t.town: f"第{i % 31 + 1}投票区" for i, t in enumerate(self.towns)}
        self.counts = _Counts()
        self._my_numbers: set[str] = set()
        self._resident_codes: set[str] = set()

    def batches(self, residents: int) -> Iterator[ImportBatch]:
        households: list[HouseholdRow] = []
        versions: list[Version] = []
        persons = 0
        while self.counts.active < residents:
            plan = self._trim(self._next_plan(), residents - self.counts.active)
            row, made = self.household(plan)
            households.append(row)
            versions += made
            persons += len(plan.members)
            if persons >= BATCH_PERSONS:
                yield ImportBatch(households, versions)
                households, versions, persons = [], [], 0
        if households:
            yield ImportBatch(households, versions)

    def _next_plan(self) -> _Plan:
        """Mostly Japanese households; a foreign or a removed one whenever their share falls behind."""
        c = self.counts
        if c.removed < REMOVED_SHARE * c.active and self.rng.random() < 0.5:
            return self.people.with_removal()
        if c.foreign < FOREIGN_SHARE * c.active and self.rng.random() < 0.5:
            return self.people.foreign_household()
        return self.people.japanese_household()

    @staticmethod
    def _trim(plan: _Plan, room: int) -> _Plan:
        """The last household may hold more people than are left to make; keep its first ones (the 世帯主 first)."""
        if plan.leaves is not None or sum(m.leaves is None for m in plan.members) <= room:
            return plan
        kept = [i for i, m in enumerate(plan.members) if m.leaves is None][:room]
        new_index = {old: new for new, old in enumerate(kept)}
        members = [plan.members[i] for i in kept]
        for m in members:  # a child whose mother was dropped arrives with the household
            m.mother = new_index.get(m.mother) if m.mother is not None else None
        plan.members = members
        return plan

    def household(self, plan: _Plan) -> tuple[HouseholdRow, list[Version]]:
        self.counts.household += 1
        number = make_household_number(self.counts.household)
        address = self.address(plan.apartment)
        honseki = self.honseki()
        arrivals = self.arrivals(plan)
        versions: list[Version] = []
        active: list[ResidentRecord] = []
        left_on = self.leaving_date(max(a.on for a in arrivals)) if plan.leaves else None
        for position, (member, arrival) in enumerate(zip(plan.members, arrivals, strict=True), start=1):
            record = self.record(member, number, position, address, arrival, honseki)
            versions.append(Version(record, 1, arrival.reason, arrival.on, record.filed_on))
            leaves = plan.leaves or member.leaves
            if leaves:
                removed = self.removed(record, leaves, left_on or self.leaving_date(arrival.on))
                versions.append(removed)
                self.counts.removed += 1
            else:
                active.append(record)
                self.counts.active += 1
                self.counts.foreign += record.foreign is not None
        head = next((r.addressee_number for r in active if r.relationship == HOUSEHOLDER), None)
        row = HouseholdRow(number, address.address, head, len(active), ACTIVE if active else REMOVED)
        return row, versions

    # dates of arrival and leaving

    def arrivals(self, plan: _Plan) -> list[_Arrival]:
        """Each member came with the household, was born into it, or (子の妻) married into it later."""
        came_from = self.previous_address(plan.from_abroad)
        reason = MOVE_IN_FROM_ABROAD if plan.from_abroad else MOVE_IN
        first_child: dict[int, date] = {}
        for m in plan.members:
            if m.mother is not None:
                first_child[m.mother] = min(m.birth, first_child.get(m.mother, m.birth))
        result: list[_Arrival] = []
        for i, m in enumerate(plan.members):
            base = plan.arrived
            if m.mother is not None:
                base = max(base, result[m.mother].on)
            if m.married_in:  # the wedding, or before her first child at the latest
                wedding = min(
                    m.birth + _years(self.rng.uniform(24, 32)),
                    first_child.get(i, self.today),
                    self.today - timedelta(days=1),
                )
                result.append(_Arrival(MOVE_IN, max(base, wedding), self.previous_address(False)))
            elif m.birth >= base and m.mother is not None:
                result.append(_Arrival(BIRTH, m.birth, None))
            else:
                result.append(_Arrival(reason, max(base, m.birth), came_from))
        return result

    def leaving_date(self, arrived: date) -> date:
        lo = max(arrived + timedelta(days=30), self.today - _years(8))
        return min(self.people.between(lo, self.today - timedelta(days=1)), self.today)

    def filed(self, on: date) -> date:
        """Most filings come within the 14 days the law allows."""
        return min(on + timedelta(days=self.rng.randint(0, 13)), self.today)

    # records

    def record(
        self, m: _Member, household: str, position: int, address: Address, arrival: _Arrival, honseki: str
    ) -> ResidentRecord:
        self.counts.addressee += 1
        age = _age(m.birth, self.today)
        voter = m.foreign is None and age >= 18 and arrival.on <= self.today - timedelta(days=92)
        cover = self.insurance(m, age, arrival.on)
        return ResidentRecord(
            addressee_number=make_addressee_number(self.counts.addressee),
            household_number=household,
            relationship=m.relationship,
            position=position,
            family_name=m.family[0],
            given_name=m.given[0],
            family_name_kana=m.family[1],
            given_name_kana=m.given[1],
            sex=m.sex,
            birth_date=m.birth,
            address=address,
            resident_since=arrival.on,
            address_since=arrival.on,
            filed_on=self.filed(arrival.on),
            honseki=None if m.foreign else honseki,
            family_register_head=m.register_head,
            previous_address=arrival.previous,
            resident_code=self.resident_code(),
            my_number=self.my_number(),
            foreign=m.foreign,
            voter_registered=voter,
            voting_district=self.district[address.town or ""] if voter else None,
            national_health_insurance=cover.health,
            late_elderly_insurance=cover.late_elderly,
            long_term_care_insurance=cover.long_term_care,
            national_pension=cover.pension,
        )

    def removed(self, record: ResidentRecord, reason: str, on: date) -> Version:
        if reason == DEATH:
            filed = self.filed(on)
            changed = dataclasses.replace(record, status=REMOVED, removal=Removal(DEATH, on), filed_on=filed)
            return Version(changed, 2, DEATH, on, filed)
        # a 転出届 is filed up to 14 days before the move, never before the arrival was filed
        filed = max(on - timedelta(days=self.rng.randint(0, 14)), record.filed_on)
        move_out = MoveOutData(self.other_address(), on, filed)
        changed = dataclasses.replace(
            record, status=REMOVED, removal=Removal(MOVE_OUT, on), move_out=move_out, filed_on=filed
        )
        return Version(changed, 2, MOVE_OUT, on, filed)

    def insurance(self, m: _Member, age: int, since: date) -> _Insurance:
        """Plausible enrolments for the person's age: everyone 65+ in 介護, 75+ in 後期高齢, 20–59 in 国民年金."""
        items = _Insurance()
        if age >= 65:  # 介護保険 第1号被保険者 from the day before the 65th birthday
            items.long_term_care = Enrollment(True, max(_birthday(m.birth, 65) - timedelta(1), since))
        if age >= 75:
            items.late_elderly = Enrollment(True, max(_birthday(m.birth, 75), since))
        draw = self.rng.random()
        category = None
        if 20 <= age < 60:
            # 第3号 (a dependent spouse) only for wives here; 第1号 (self-employed, students) pay into 国保 too
            category = (
                "第3号"
                if m.relationship in ("妻", "子の妻") and draw < 0.3
                else ("第1号" if draw < 0.6 else "第2号")
            )
            number = f"{self.rng.randrange(10**9, 10**10)}"  # 基礎年金番号, 10 digits
            items.pension = Enrollment(True, max(_birthday(m.birth, 20), since), None, number, category)
        if age < 75 and (category == "第1号" or (age >= 65 and draw < 0.75) or draw > 0.92):
            items.health = Enrollment(True, since)
        return items

    # identifiers.generate_my_number / generate_resident_code draw digit by digit; one draw per body is several
    # times faster, and the check digit comes from the same rule functions.

    def my_number(self) -> str:
        while True:
            body = f"{self.rng.randrange(10**11):011d}"
            number = body + my_number_check_digit(body)
            if number not in self._my_numbers:
                self._my_numbers.add(number)
                return number

    def resident_code(self) -> str:
        while True:
            body = f"{self.rng.randrange(10**10):010d}"
            code = body + resident_code_check_digit(body)
            if code not in self._resident_codes:
                self._resident_codes.add(code)
                return code

    # addresses

    def address(self, apartment: float) -> Address:
        """A canonical address in a real 町字: 住居表示 (N番M号) or 地番 (N番地, N番地M), maybe with a 方書."""
        town = self.rng.choice(self.towns)
        katagaki = self.katagaki(town) if self.rng.random() < apartment else ""
        text = f"{PREFECTURE}{MUNICIPALITY}{town.town}{self.banchi(town)}"
        return Address(text, katagaki, town.postal_code, town.town, CITY_CODE)

    def banchi(self, town: Town) -> str:
        # The town list does not say which areas are under 住居表示; the towns without 丁目 and 小川町 (the city
        # hall's 小川町二丁目1333番地) are written in 地番 here, the others in 住居表示. Plausible, not a survey.
        if town.chome is None or town.base_name == "小川町":
            lot = self.rng.randint(1, 3300)
            return f"{lot}番地" + (f"{self.rng.randint(1, 40)}" if self.rng.random() < 0.6 else "")
        return f"{self.rng.randint(1, 35)}番{self.rng.randint(1, 30)}号"

    def katagaki(self, town: Town) -> str:
        """方書: a building name and room number, as on a letterbox (「花小金井南パレス203」)."""
        name = town.base_name.removesuffix("町")
        room = f"{self.rng.randint(1, 6)}{self.rng.randint(1, 9):02d}"
        return f"{name}{self.rng.choice(_BUILDINGS)}{room}"

    def other_address(self) -> Address:
        place = self.rng.choice(_OTHER_MUNICIPALITIES)
        chome = "一二三四五"[self.rng.randrange(5)]
        text = f"{place.name}{self.rng.choice(place.towns)}{chome}丁目{self.rng.randint(1, 30)}番{self.rng.randint(1, 25)}号"
        return Address(text, "", None, None, place.code)

    def previous_address(self, abroad: bool) -> Address:
        if abroad:
            nation = self.people.nation()
            return Address(nation.abroad, "", None, None, None, nation.name)
        return self.other_address()

    def honseki(self) -> str:
        """本籍: often in the city itself, otherwise where the family came from."""
        if self.rng.random() < 0.4:
            town = self.rng.choice(self.towns)
            return f"{PREFECTURE}{MUNICIPALITY}{town.town}{self.rng.randint(1, 3300)}番地"
        place = self.rng.choice(_OTHER_MUNICIPALITIES)
        return f"{place.name}{self.rng.choice(place.towns)}{self.rng.randint(1, 999)}番地"


__all__ = ["DEMO_ACCOUNTS", "NotADemoRegister", "build_demo", "create_accounts", "write_accounts"]
