"""続柄 (relationship to the householder), as the national standard writes them.

住民記録システム標準仕様書 j110: 世帯主; 夫, 妻, 夫（未届）, 妻（未届）, 子, 子の夫, 子の妻, 父, 母, 兄, 姉, 弟, 妹;
chains of these joined by 「の」 up to four generations; 縁故者; 同居人. 孫 or 祖父 are not allowed (子の子, 父の父).
"""

from __future__ import annotations

from juki.domain.errors import InvalidField

HOUSEHOLDER = "世帯主"
# The terms a chain may be built from (j110). 夫（未届）/妻（未届） stand only alone, as the first link.
_TERMS = ("夫", "妻", "子", "父", "母", "兄", "姉", "弟", "妹")
_UNMARRIED = ("夫（未届）", "妻（未届）")
_STANDALONE = (HOUSEHOLDER, "縁故者", "同居人", *_UNMARRIED)
MAX_GENERATIONS = 4


def normalize_relationship(text: str, field: str = "relationship") -> str:
    """Return the standard spelling of a 続柄, or refuse it (j110)."""
    value = text.strip().replace("(", "（").replace(")", "）")
    if value in _STANDALONE:
        return value
    links = value.split("の")
    if not value or len(links) > MAX_GENERATIONS or any(link not in _TERMS for link in links):
        raise InvalidField("標準仕様書の続柄ではありません（例: 世帯主、妻、子、子の妻、同居人）", field)
    return value


def is_householder(relationship: str) -> bool:
    return relationship == HOUSEHOLDER


def rebase(relationship: str, new_head_old_relationship: str) -> str | None:
    """The 続柄 to a new householder, derived from the 続柄 to the old one, where the rule is certain.

    A member whose 続柄 starts with the new head's own 続柄 + 「の」 is that head's relative
    (子の妻 → 妻 when the 子 becomes householder). When a spouse takes over, the old head's children stay 子
    (the register's practice: the children of the household's couple). Anything else needs the clerk's word.
    """
    if relationship == HOUSEHOLDER:
        return None
    prefix = new_head_old_relationship + "の"
    if relationship.startswith(prefix):
        return relationship[len(prefix) :]
    spouse = new_head_old_relationship in ("妻", "夫")
    if spouse and relationship.split("の")[0] == "子":
        return relationship
    return None


_INVERSE = {
    "妻": ("夫", "妻"),
    "夫": ("夫", "妻"),
    "妻（未届）": ("夫（未届）", "妻（未届）"),
    "夫（未届）": ("夫（未届）", "妻（未届）"),
    "子": ("父", "母"),
    "父": ("子", "子"),
    "母": ("子", "子"),
    "兄": ("弟", "妹"),
    "姉": ("弟", "妹"),
    "弟": ("兄", "姉"),
    "妹": ("兄", "姉"),
}


def inverse(new_head_old_relationship: str, old_head_sex: str) -> str | None:
    """The old householder's 続柄 to the new one, when the new one was a direct relative (妻 → the old head is 夫)."""
    pair = _INVERSE.get(new_head_old_relationship)
    if pair is None:
        return None
    return pair[0] if old_head_sex == "male" else pair[1]
