"""The demo city's source tables: names with their readings (Faker's ja_JP tables), building names, the
municipalities people come from and go to, and the nationalities of foreign residents with their names and 在留資格.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from faker.providers.address.ja_JP import Provider as JaAddress
from faker.providers.person.ja_JP import Provider as JaPerson

from juki.domain.identifiers import (
    local_gov_code_check_digit,
)

Pair = tuple[str, str]  # (written form, katakana reading)

# Faker's ja_JP tables give names with consistent readings; they are sampled with the city's own Random so that
# there is one seeded source of randomness (and it is much faster than a Faker call per name).
FAMILY: tuple[Pair, ...] = tuple((p[0], p[1]) for p in JaPerson.last_name_pairs)
FAMILY_CUM = tuple(accumulate(float(w) for w in JaPerson.last_name_pairs.values()))
GIVEN = {
    "male": tuple((p[0], p[1]) for p in JaPerson.first_name_male_pairs),
    "female": tuple((p[0], p[1]) for p in JaPerson.first_name_female_pairs),
}
BUILDINGS: tuple[str, ...] = (*JaAddress.building_names, "レジデンス", "メゾン", "グランドール")


@dataclass(frozen=True)
class Municipality:
    name: str  # 都道府県 + 市区町村 as written
    code_body: str  # 地方公共団体コード without its check digit
    towns: tuple[str, ...]

    @cached_property
    def code(self) -> str:
        return self.code_body + local_gov_code_check_digit(self.code_body)


# Where people came from and went to: neighbours, Tokyo wards, and a few big cities (ward codes for 政令市).
OTHER_MUNICIPALITIES = (
    Municipality("東京都国分寺市", "13214", ("本町", "南町", "東恋ヶ窪")),
    Municipality("東京都小金井市", "13210", ("本町", "緑町", "貫井北町")),
    Municipality("東京都東村山市", "13213", ("本町", "栄町", "萩山町")),
    Municipality("東京都西東京市", "13229", ("田無町", "南町", "ひばりが丘")),
    Municipality("東京都立川市", "13202", ("曙町", "錦町", "柴崎町")),
    Municipality("東京都武蔵野市", "13203", ("吉祥寺本町", "中町", "境")),
    Municipality("東京都府中市", "13206", ("宮町", "寿町", "府中町")),
    Municipality("東京都東大和市", "13223", ("中央", "向原", "桜が丘")),
    Municipality("東京都三鷹市", "13204", ("下連雀", "上連雀", "井の頭")),
    Municipality("東京都八王子市", "13201", ("旭町", "明神町", "子安町")),
    Municipality("東京都新宿区", "13104", ("西新宿", "高田馬場", "四谷")),
    Municipality("東京都杉並区", "13115", ("阿佐谷南", "荻窪", "高円寺北")),
    Municipality("東京都練馬区", "13120", ("練馬", "石神井町", "大泉学園町")),
    Municipality("埼玉県所沢市", "11208", ("東町", "日吉町", "小手指町")),
    Municipality("埼玉県さいたま市浦和区", "11107", ("高砂", "常盤", "岸町")),
    Municipality("神奈川県横浜市港北区", "14109", ("日吉", "大倉山", "新横浜")),
    Municipality("北海道札幌市中央区", "01101", ("北一条西", "南三条西")),
    Municipality("宮城県仙台市青葉区", "04101", ("一番町", "国分町")),
    Municipality("愛知県名古屋市中区", "23106", ("栄", "錦", "丸の内")),
    Municipality("大阪府大阪市北区", "27127", ("梅田", "天神橋", "中之島")),
    Municipality("福岡県福岡市博多区", "40132", ("博多駅前", "中洲", "祇園町")),
)


@dataclass(frozen=True)
class Nation:
    name: str  # 国籍・地域 as the register writes it
    weight: int
    families: tuple[Pair, ...]
    male: tuple[Pair, ...]
    female: tuple[Pair, ...]
    statuses: tuple[str, ...]  # 在留資格 of people who come alone
    abroad: str  # a previous address abroad
    wife_keeps_name: bool  # 夫婦別姓 by the law of the nationality


# fmt: off
NATIONS = (
    Nation("中国", 40, (("王", "ワン"), ("李", "リ"), ("張", "チャン"), ("劉", "リュウ"), ("陳", "チェン"),
                          ("楊", "ヤン"), ("趙", "チャオ"), ("黄", "ホアン"), ("周", "ジョウ"), ("呉", "ウー")),
            (("偉", "ウェイ"), ("浩", "ハオ"), ("磊", "レイ"), ("軍", "ジュン"), ("涛", "タオ"), ("明", "ミン")),
            (("芳", "ファン"), ("娜", "ナー"), ("静", "ジン"), ("敏", "ミン"), ("麗", "リー"), ("婷", "ティン")),
            ("留学", "技術・人文知識・国際業務", "永住者", "経営・管理"), "中国 上海市", True),
    Nation("韓国", 15, (("金", "キム"), ("李", "イ"), ("朴", "パク"), ("崔", "チェ"), ("鄭", "チョン"), ("姜", "カン")),
            (("民俊", "ミンジュン"), ("志勲", "ジフン"), ("英浩", "ヨンホ"), ("成民", "ソンミン")),
            (("瑞妍", "ソヨン"), ("秀賢", "スヒョン"), ("恩恵", "ウネ"), ("知恩", "ジウン")),
            ("留学", "技術・人文知識・国際業務", "永住者"), "韓国 ソウル特別市", True),
    Nation("ベトナム", 14, (("NGUYEN", "グエン"), ("TRAN", "チャン"), ("LE", "レ"), ("PHAM", "ファム"),
                             ("HOANG", "ホアン"), ("VU", "ヴー")),
            (("VAN AN", "ヴァン アン"), ("DUC MINH", "ドゥック ミン"), ("QUANG HUY", "クアン フイ")),
            (("THI HOA", "ティ ホア"), ("THI LAN", "ティ ラン"), ("NGOC ANH", "ゴック アイン")),
            ("技能実習", "特定技能1号", "留学", "技術・人文知識・国際業務"), "ベトナム ハノイ市", True),
    Nation("フィリピン", 8, (("SANTOS", "サントス"), ("REYES", "レイエス"), ("CRUZ", "クルス"),
                               ("GARCIA", "ガルシア"), ("BAUTISTA", "バウティスタ")),
            (("JOSE", "ホセ"), ("MARK", "マーク"), ("JOHN PAUL", "ジョン ポール")),
            (("MARIA", "マリア"), ("ANGELICA", "アンジェリカ"), ("JOY", "ジョイ")),
            ("永住者", "定住者", "特定技能1号"), "フィリピン マニラ", False),
    Nation("ネパール", 7, (("GURUNG", "グルン"), ("SHRESTHA", "シュレスタ"), ("TAMANG", "タマン"), ("RAI", "ライ")),
            (("RAM", "ラム"), ("BIKASH", "ビカス"), ("SURESH", "スレス")),
            (("SITA", "シータ"), ("ANITA", "アニタ"), ("PRIYA", "プリヤ")),
            ("留学", "技能", "技術・人文知識・国際業務"), "ネパール カトマンズ", False),
    Nation("台湾", 5, (("陳", "チェン"), ("林", "リン"), ("黄", "ホアン"), ("張", "チャン")),
            (("志明", "ジーミン"), ("家豪", "ジャーハオ")), (("怡君", "イージュン"), ("淑芬", "シューフェン")),
            ("留学", "技術・人文知識・国際業務", "永住者"), "台湾 台北市", True),
    Nation("米国", 4, (("SMITH", "スミス"), ("JOHNSON", "ジョンソン"), ("BROWN", "ブラウン"), ("MILLER", "ミラー")),
            (("JOHN", "ジョン"), ("MICHAEL", "マイケル"), ("DAVID", "デイビッド")),
            (("EMILY", "エミリー"), ("SARAH", "サラ"), ("JESSICA", "ジェシカ")),
            ("教授", "技術・人文知識・国際業務", "永住者"), "米国 カリフォルニア州", False),
    Nation("インドネシア", 4, (("SANTOSO", "サントソ"), ("WIJAYA", "ウィジャヤ"), ("HIDAYAT", "ヒダヤット")),
            (("AGUS", "アグス"), ("BUDI", "ブディ")), (("SITI", "シティ"), ("DEWI", "デウィ")),
            ("技能実習", "特定技能1号", "留学"), "インドネシア ジャカルタ", False),
)
# fmt: on
NATION_CUM = tuple(accumulate(n.weight for n in NATIONS))
FAMILY_STATUSES = ("永住者", "技術・人文知識・国際業務", "経営・管理", "定住者")  # may bring a family
PERIODS = {"1年": 1, "3年": 3, "5年": 5}
REMOVALS = ("left", "died", "child", "spouse", "parent")  # kinds of removed record, see People.with_removal
REMOVALS_CUM = tuple(accumulate((35, 15, 25, 15, 10)))
