"""The items of a resident record (住基法7条) in the field names of `GET /api/v1/residents/{n}`.

The PIA words what a department receives as "住民基本台帳 (住基法第7条に規定する事項)" (every row of 別紙2) or
"住民票関係情報" (別紙1; the seed defines it as 住基法7条4号: 世帯主についてはその旨、世帯主でない者については世帯主の
氏名及び世帯主との続柄). Each numbered item of 住基法7条 maps to the record fields that hold it; 住基法30条の45
replaces 7条 for a foreign resident with the same items plus its own (国籍・地域, 在留資格 …), kept in `foreign`.

`KEY_FIELDS` identify the record and go with every projection (which person, which version, 住民 or 除票): a change
names them anyway. `NOT_ITEMS` are fields the register keeps for its own work that no 7条 item covers (the 学区): no
department receives them, whatever its basis.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType

KEY_FIELDS = ("addressee_number", "status", "version")
MY_NUMBER = "my_number"  # 住基法7条8号の2: only where the basis is 番号法9条 or the city's ordinance under it

# 住基法7条, item by item (号), and the record fields that hold it.
ARTICLE_7: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "1": frozenset({"family_name", "given_name", "family_name_kana", "given_name_kana"}),  # 氏名
        "2": frozenset({"birth_date", "birth_date_unknown", "birth_date_unknown_parts"}),  # 出生の年月日
        "3": frozenset({"sex"}),  # 男女の別
        "4": frozenset({"household_number", "relationship", "position"}),  # 世帯主・世帯主との続柄
        "5": frozenset({"honseki", "family_register_head"}),  # 戸籍の表示
        "6": frozenset({"resident_since"}),  # 住民となった年月日
        "7": frozenset({"address", "address_since"}),  # 住所・住所を定めた年月日
        "8": frozenset({"filed_on", "previous_address"}),  # 届出の年月日・従前の住所
        "8の2": frozenset({MY_NUMBER}),  # 個人番号
        "9": frozenset({"voter_registered", "voting_district"}),  # 選挙人名簿への登録
        "10": frozenset({"national_health_insurance"}),  # 国民健康保険の資格
        "10の2": frozenset({"late_elderly_insurance"}),  # 後期高齢者医療の資格
        "10の3": frozenset({"long_term_care_insurance"}),  # 介護保険の資格
        "11": frozenset({"national_pension"}),  # 国民年金の資格
        "11の2": frozenset({"child_allowance"}),  # 児童手当の受給
        "13": frozenset({"resident_code"}),  # 住民票コード
        # 14号 (政令で定める事項: 施行令6条の2 旧氏, 消除・転出の記載) and 住基法30条の45 (外国人住民)
        "14": frozenset({"former_surname", "former_surname_kana", "removal", "move_out", "foreign"}),
    }
)
NOT_ITEMS = frozenset({"school_district"})

ALL_ITEMS = frozenset().union(*ARTICLE_7.values())


def items_of(*numbers: str) -> frozenset[str]:
    """The fields of these 号 of 住基法7条 (an unknown 号 is a KeyError: the policy names only real ones)."""
    return frozenset().union(*(ARTICLE_7[n] for n in numbers))


# The seed's wordings of "which information" (移転する情報 / 提供する情報), spaces ignored.
WORDINGS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "住民基本台帳(住基法第7条に規定する事項)": ALL_ITEMS,
        # 別紙1 lists provisions of 特定個人情報: the 4号 items go with the 個人番号 that identifies the person
        # (given only where the row's basis allows it: transfer/policy.TransferRow.my_number).
        "住民票関係情報": items_of("4", "8の2"),
    }
)


def items_worded(information: str) -> frozenset[str]:
    """The items a row of the PIA names, read from its wording; a wording not known here is refused (ValueError)
    rather than guessed: the policy would otherwise give what no one declared."""
    key = "".join(unicodedata.normalize("NFKC", information).split()).split("(住基法第7条第4号")[0]
    if key not in WORDINGS:
        raise ValueError(f"移転・提供する情報の記載を解釈できません: {information}")
    return WORDINGS[key]
