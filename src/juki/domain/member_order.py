"""標準仕様書 j1010: the standard order of a household's members (世帯員の並び順, 記載順位).

The standard sets four ranks. This module reads them as follows (each step's ties: birth date, then 宛名番号):

Rank 1 — 世帯主; then the spouse (妻, 夫, 妻（未届）, 夫（未届）); then the householder's children (子), by birth date.

Rank 2 — the children's families. The standard writes a family as "child → spouse → grandchildren"; the child
itself is already listed in rank 1, so a family here is the child's spouse (子の妻 / 子の夫), then the child's
descendants generation by generation (子の子, their spouses 子の子の妻, then 子の子の子 …). Families follow the order
of their child in rank 1 (the child's birth date).
A 続柄 does not say *whose* child a 子の子 is, so a member is put in a child's family by the 筆頭者
(`family_register_head`): a child with a 戸籍 of their own — a 筆頭者 that is neither the householder's nor the
householder's spouse's, as after a marriage — heads the family of every rank-2 member with the same 筆頭者 (the
child's own, or their spouse's when the spouse is the 筆頭者). Members that cannot be placed this way (no 筆頭者
recorded, or one shared by two children or by none) follow the families, by generation, birth date, 宛名番号.

Rank 3 — 父母 (the one who is the 筆頭者 of their own 戸籍 first, the other by birth date); then 兄弟姉妹 (兄, 姉, 弟,
妹) by birth date; then 祖父母 (父の父, 父の母, 母の父, 母の母) by birth date.

Rank 4 — other relatives, then 縁故者, then 同居人 (each by birth date). Other relatives form families the rank-2
way: a 続柄 is split into a base and a tail of descent (子 links, and a spouse link at the end), so 兄の妻 and
兄の子 are the family of 兄, 妻の子 that of 妻, 妻の妹の夫 that of 妻の妹. Families are ordered by the generation of
their base (the older first: 妻の父 before 妻の妹), then by the base's birth date (or, when the base does not live in
the household, the family's eldest's), and inside a family by generation (the base, their spouse, children, …),
birth date, 宛名番号.

A 続柄 outside the standard (older data) comes last, by birth date. The order is a suggestion the clerk may
override by hand; new members still join at the end (`register.arrivals.new_record`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from juki.domain.model import ResidentRecord
from juki.domain.relationship import HOUSEHOLDER

SPOUSES = ("妻", "夫", "妻（未届）", "夫（未届）")
PARENTS = ("父", "母")
SIBLINGS = ("兄", "姉", "弟", "妹")
GRANDPARENTS = ("父の父", "父の母", "母の父", "母の母")
RELATED_BY_CHANCE = "縁故者"
LODGER = "同居人"
_CHAIN_TERMS = ("夫", "妻", "子", "父", "母", "兄", "姉", "弟", "妹")
_SPOUSE_LINKS = ("妻", "夫")
_GENERATION = {"父": 1, "母": 1, "子": -1}

Key = tuple[object, ...]


def _plain_name(text: str | None) -> str:
    return re.sub(r"\s", "", text or "")


def _full_name(m: ResidentRecord) -> str:
    return _plain_name(m.family_name + m.given_name)


def _is_own_register_head(m: ResidentRecord) -> bool:
    """Whether the member is the 筆頭者 of the 戸籍 they are in (their own name is the 筆頭者)."""
    return bool(m.family_register_head) and _plain_name(m.family_register_head) == _full_name(m)


def split_descent(relationship: str) -> tuple[str, int, bool] | None:
    """A chain 続柄 as (base, depth, spouse): 兄の子の妻 → ("兄", 1, True), 子の子 → ("", 2, False),
    妻の父 → ("妻の父", 0, False). None for what is not a chain of the standard's terms."""
    links = relationship.split("の")
    if any(link not in _CHAIN_TERMS for link in links):
        return None
    spouse = links[-1] in _SPOUSE_LINKS
    if spouse:
        links = links[:-1]
    depth = 0
    while links and links[-1] == "子":
        links = links[:-1]
        depth += 1
    return "の".join(links), depth, spouse


def generation(relationship: str) -> int:
    """Generations above (+) or below (−) the householder: 父の父 +2, 兄 0, 妻の子 −1, 子の子 −2."""
    return sum(_GENERATION.get(link, 0) for link in relationship.split("の"))


def _by_age(m: ResidentRecord) -> tuple[date, str]:
    return (m.birth_date, m.addressee_number)


def _child_families(members: Sequence[ResidentRecord]) -> tuple[list[ResidentRecord], dict[str, int]]:
    """The householder's children in order, and for each 筆頭者 that marks a child's own 戸籍 the child's index."""
    children = sorted((m for m in members if m.relationship == "子"), key=_by_age)
    elders = [m for m in members if m.relationship == HOUSEHOLDER or m.relationship in SPOUSES]
    parents_registers = {_plain_name(m.family_register_head) for m in elders} | {
        _full_name(m) for m in elders
    }
    owners: dict[str, list[int]] = {}
    for i, child in enumerate(children):
        head = _plain_name(child.family_register_head)
        if head and head not in parents_registers:
            owners.setdefault(head, []).append(i)
    return children, {head: found[0] for head, found in owners.items() if len(found) == 1}


def _other_families(members: Sequence[ResidentRecord]) -> dict[str, date]:
    """For each base of a rank-4 family, the birth date it is ordered by (the base's own, else the eldest's)."""
    base_dates: dict[str, date] = {}
    eldest: dict[str, date] = {}
    for m in members:
        parts = split_descent(m.relationship)
        if parts is None or rank(m.relationship) != 4:
            continue
        base, depth, spouse = parts
        if depth == 0 and not spouse:
            base_dates[base] = min(m.birth_date, base_dates.get(base, date.max))
        eldest[base] = min(m.birth_date, eldest.get(base, date.max))
    for m in members:  # a base that is itself a member of another rank (兄 of 兄の妻, 妻 of 妻の子)
        if m.relationship in eldest:
            base_dates[m.relationship] = min(m.birth_date, base_dates.get(m.relationship, date.max))
    return {base: base_dates.get(base, eldest[base]) for base in eldest}


def rank(relationship: str) -> int:
    """The standard's rank (1–4) of a 続柄; 5 for one outside the standard."""
    if relationship == HOUSEHOLDER or relationship in SPOUSES or relationship == "子":
        return 1
    if relationship in PARENTS or relationship in SIBLINGS or relationship in GRANDPARENTS:
        return 3
    if relationship in (RELATED_BY_CHANCE, LODGER):
        return 4
    parts = split_descent(relationship)
    if parts is None:
        return 5
    base, depth, _ = parts
    return 2 if base == "" and depth >= 1 else 4


def standard_order(members: Iterable[ResidentRecord]) -> list[ResidentRecord]:
    """The household's members in the standard order (j1010); see the module docstring for the reading."""
    people = list(members)
    children, owner_of = _child_families(people)
    other_dates = _other_families(people)

    def key(m: ResidentRecord) -> Key:
        rel = m.relationship
        born, number = _by_age(m)
        r = rank(rel)
        if r == 1:
            step = 0 if rel == HOUSEHOLDER else 1 if rel in SPOUSES else 2
            return (1, step, born, number)
        if r == 2:
            _, depth, spouse = split_descent(rel) or ("", 1, False)
            family = owner_of.get(_plain_name(m.family_register_head), len(children))
            return (2, family, 2 * (depth - 1) + spouse, born, number)
        if r == 3:
            if rel in PARENTS:
                return (3, 0, not _is_own_register_head(m), born, number)
            return (3, 1 if rel in SIBLINGS else 2, False, born, number)
        if r == 4:
            if rel in (RELATED_BY_CHANCE, LODGER):
                return (4, 1 if rel == RELATED_BY_CHANCE else 2, born, number)
            base, depth, spouse = split_descent(rel) or (rel, 0, False)
            order = (-generation(base), other_dates[base], base)
            return (4, 0, *order, 2 * depth + spouse, born, number)
        return (5, born, number)

    return sorted(people, key=key)
