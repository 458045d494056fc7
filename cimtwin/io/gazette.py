"""Road-naming notices from Chinese municipal gazettes, read into a road registry.

The format is the one of Jinan's 济政字〔2021〕62号 "关于祈福街等市区内道路命名的通知": a
preamble that declares how many roads are named, district headings such as
``一、市中区（9条）`` and one entry per road::

    （一）祈福街。长447米、宽18米，位于市中区陡沟街道辖区内，东起观音祠路，西至规划十号支路。

:func:`parse_road_notice` finds the notice inside a whole gazette (or takes the notice
alone), copes with what PDF text extraction does to it (spaces inside words, entries
split over lines, list markers, full-width digits and punctuation, ``一`` printed for a
dash in ``35一45米``) and returns one row per road. Nothing about any particular notice
is hard-coded. Page furniture that PDF extraction leaves inside the text (a page number
``- 2 -`` or a running header ``济南市人民政府公报`` on a line of its own) is removed before
parsing, so it never merges into a road name or a number, and reported where it fell inside
an entry. Whatever looks wrong is reported in ``df.attrs["anomalies"]`` rather than silently
fixed, including traditional or variant characters in a simplified-character notice
(荷葉路). :func:`road_junctions` lists the junctions the notice declares.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from cimtwin.errors import InputTypeError, SchemaError, ValidationError

__all__ = ["parse_road_notice", "road_junctions", "chinese_numeral_to_int", "NOTICE_COLUMNS"]

#: Columns of :func:`parse_road_notice`'s result, in order.
NOTICE_COLUMNS = [
    "seq",
    "name",
    "district",
    "subdistrict",
    "length_m",
    "width_min_m",
    "width_max_m",
    "orientation",
    "from_road",
    "to_road",
    "turn_road",
    "turn_direction",
    "turn_to_road",
    "raw",
]

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "[〇零一二两三四五六七八九十百千]+|\\d+"
_DIRECTION = {"东": "E", "西": "W", "南": "S", "北": "N"}

# Characters that tell sibling roads apart on purpose (莲岳北街/莲岳南街, 横一路/横三路):
# a one-character difference in one of these is not reported as a likely typo.
_SIBLING_CHARS = set("东西南北中上下前后内外大小新老") | set(_CN_DIGITS) | set(_CN_UNITS) | set("0123456789")


def chinese_numeral_to_int(text: str) -> int:
    """Read a Chinese or Arabic numeral: 一 … 五十九, 一百零三, 一〇三, 59 or ５９.

    Examples
    --------
    >>> [chinese_numeral_to_int(s) for s in ("九", "十", "二十一", "五十九", "一百零三", "５９")]
    [9, 10, 21, 59, 103, 59]
    """
    s = _normalize_chars(str(text)).strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in s):
        raise ValidationError(f"{text!r} is not a Chinese or Arabic numeral (expected e.g. 五十九 or 59).")
    if not any(ch in _CN_UNITS for ch in s):  # digit by digit: 一〇三
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    total, digit = 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:  # a unit; a bare 十 means 一十
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return total + digit


# --- text clean-up -----------------------------------------------------------------

_CHAR_MAP = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}  # full-width ASCII -> ASCII
_CHAR_MAP.update(
    {
        ord("\u3000"): " ",
        ord("“"): '"',
        ord("”"): '"',
        ord("‘"): "'",
        ord("’"): "'",
        ord("〜"): "~",
        ord("—"): "-",
        ord("–"): "-",
        ord("‐"): "-",
        ord("−"): "-",
        ord("﹙"): "(",
        ord("﹚"): ")",
        ord("﹐"): ",",
        ord("﹔"): ";",
    }
)
# Page furniture on a line of its own: "- 2 -", "— 12 —", "第 3 页", "3/10", and running
# headers of gazettes ("济南市人民政府公报", "2021年第19期").
_PAGE_LINE = re.compile(
    r"^[ \t\u3000]*(?:"
    r"[-—–－~][ \t\u3000]*[0-9０-９]{1,4}[ \t\u3000]*[-—–－~]"
    r"|第[ \t\u3000]*[0-9０-９]{1,4}[ \t\u3000]*页(?:[ \t\u3000]*共[ \t\u3000]*[0-9０-９]{1,4}[ \t\u3000]*页)?"
    r"|[0-9０-９]{1,4}[ \t\u3000]*/[ \t\u3000]*[0-9０-９]{1,4}"
    r"|[^\n。，,；;]{0,20}?(?:公报|政报)[ \t\u3000]*(?:[0-9０-９]{4}[ \t\u3000]*年)?[ \t\u3000]*(?:第[ \t\u3000]*[0-9０-９]{1,3}[ \t\u3000]*期)?"
    r"|[0-9０-９]{4}[ \t\u3000]*年[ \t\u3000]*第[ \t\u3000]*[0-9０-９]{1,3}[ \t\u3000]*期"
    r")[ \t\u3000]*$",
    re.MULTILINE,
)
_FURNITURE_MARK = "\ue000"  # private-use character standing for one removed line until positions are known

# Traditional forms (and a few old variants) of characters common in road and place names,
# with the simplified form a notice in simplified characters uses.
_TRADITIONAL = dict(zip(
    "葉華陽東門長嶺灣橋園龍鳳馬雲萬與嚴豐麗興寧廣慶鄉鎮區縣莊湯澤濟匯達遠運進陳劉張楊趙黃孫韓關開閣間閘"
    "樓輝軍農藝蘭蓮葦藥綠紅絲線經緯築節榮樂歷順風飛鵬鶴鳴魯齊漢潤滙灃濱歸淮澗溝鐵鋼銀錦鑫鍾鐘亞倉儲"
    "寶將尋層嶽岡峯島巖幹廠廟庫張彎徑後從復德懷戶擬撫數斷時書會條東來楊極標機檢櫃權歡殘氣決沒淨涼"
    "漁潔濕灣燈燒熱爐牆牽獅環瑤產畝盤碼礦禮稅穩窯竇筆範籃糧紀約級紡細紹給統絕綜網維縣總繼續義習聖"
    "聯職腦臺與舊艦莊華萊葦蔣蕭薑蘆處號蠶衛裝裏補製複見規視覽觀記設許評詩話誠認調談諸豐貝財貨貴"
    "費賀資賓贊趕車軌輕載較輪輸轉辦農邊遼郵鄭醫釣鈴鋪錫鎖長門閃閉問闊阿隊陰陸隆隨險隱雙雞離難電霧"
    "靜韋頂項順領頭顏願類顯飯館饒駐騎驛體髮鬆魚鮮鳥鴻鵝麥黨齒",
    "叶华阳东门长岭湾桥园龙凤马云万与严丰丽兴宁广庆乡镇区县庄汤泽济汇达远运进陈刘张杨赵黄孙韩关开阁间闸"
    "楼辉军农艺兰莲苇药绿红丝线经纬筑节荣乐历顺风飞鹏鹤鸣鲁齐汉润汇沣滨归淮涧沟铁钢银锦鑫钟钟亚仓储"
    "宝将寻层岳冈峰岛岩干厂庙库张弯径后从复德怀户拟抚数断时书会条东来杨极标机检柜权欢残气决没净凉"
    "渔洁湿湾灯烧热炉墙牵狮环瑶产亩盘码矿礼税稳窑窦笔范篮粮纪约级纺细绍给统绝综网维县总继续义习圣"
    "联职脑台与旧舰庄华莱苇蒋萧姜芦处号蚕卫装里补制复见规视览观记设许评诗话诚认调谈诸丰贝财货贵"
    "费贺资宾赞赶车轨轻载较轮输转办农边辽邮郑医钓铃铺锡锁长门闪闭问阔阿队阴陆隆随险隐双鸡离难电雾"
    "静韦顶项顺领头颜愿类显饭馆饶驻骑驿体发松鱼鲜鸟鸿鹅麦党齿",
))
_TRADITIONAL = {t: s for t, s in _TRADITIONAL.items() if t != s}

_LIST_MARKER = re.compile(r"^[ \t\u3000]*(?:[-*+>•·][ \t\u3000]+)+", re.MULTILINE)
_WHITESPACE = re.compile(r"\s+")


def _normalize_chars(text: str) -> str:
    return text.translate(_CHAR_MAP)


def _clean(text: str) -> str:
    """Full-width to ASCII, drop list/quote markers at line starts, then all whitespace.

    Chinese needs no spaces, so every space and line break left by PDF extraction goes;
    this also re-joins entries and words split over lines.
    """
    text = _normalize_chars(text)
    text = _LIST_MARKER.sub("", text)
    return _WHITESPACE.sub("", text)


# --- patterns (applied to cleaned text) -------------------------------------------------

_ENTRY = re.compile(rf"\((?P<ord>{_NUMERAL})\)(?P<name>[^()。,;:、]{{1,40}}?)[。.,:]?长(?=约?\d)")
_HEADING = re.compile(
    rf"(?P<ord>[〇零一二两三四五六七八九十百千]+)、(?P<district>[^、。,;()]{{1,30}}?)\((?P<count>{_NUMERAL})条\)"
)
_TITLE = re.compile(r"关于[^。()]{0,60}?命名的通知")
_DOC_NO = re.compile(r"[\u4e00-\u9fff]{1,8}[〔\[(]\d{4}[〕\])]\d+号")
_DECLARED = re.compile(rf"等(?P<n>{_NUMERAL})条")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")

_NUMBER = r"\d+(?:\.\d+)?"
_LENGTH = re.compile(rf"^约?(?P<value>{_NUMBER})(?P<unit>米|m|公里|千米|km)")
# "一" between two numbers is a dash mangled by PDF extraction (35一45米).
_WIDTH = re.compile(rf"宽约?(?P<w1>{_NUMBER})(?:米|m)?(?:(?:-|~|一|至|到)(?P<w2>{_NUMBER}))?(?:米|m)")
_LOCATION = re.compile(r"位于(?P<loc>[^,;。]+?)(?:辖区内|辖区|境内)")
_ENDPOINTS = re.compile(
    r"(?P<from_dir>[东西南北])起(?P<from_road>[^,;。]{1,40}?)[,;]?"
    r"(?P<to_dir>[东西南北])至(?P<to_road>[^,;。]{1,40}?)"
    r"(?:[,;]?(?:再|后|然后)?折向(?P<turn_dir>[东西南北])(?:至(?P<turn_to_road>[^,;。]{1,40}?))?)?"
    r"(?:的\"?[Ll]\"?[型形](?:道路|路)?)?"
    r"(?:。|$)"
)
_DISTRICT_PREFIX = re.compile(r"^(?P<district>.{1,12}?(?:新区|区|县|市))(?P<rest>.+)$")
_SUBDISTRICT_SEP = re.compile(r"[、,;/]")


def _mark_page_furniture(text: str) -> tuple[str, list[str]]:
    """Replace page-number and running-header lines by one marker each; return them in order."""
    removed: list[str] = []

    def mark(m: re.Match) -> str:
        removed.append(m.group(0).strip())
        return _FURNITURE_MARK

    return _PAGE_LINE.sub(mark, text), removed


def _strip_marks(clean: str, removed: list[str]) -> tuple[str, list[tuple[int, str]]]:
    """Drop the markers; return the text and (position in it, removed line) per marker."""
    out, breaks, k = [], [], 0
    for i, part in enumerate(clean.split(_FURNITURE_MARK)):
        if i:
            breaks.append((sum(len(p) for p in out), removed[k]))
            k += 1
        out.append(part)
    return "".join(out), breaks


def _anomaly(kind: str, message: str, *, seq: Any = None, name: Any = None) -> dict[str, Any]:
    return {"kind": kind, "seq": seq, "name": name, "message": message}


def _to_float(value: str | None) -> float:
    return float(value) if value else np.nan


def _parse_entry(seq: int, name: str, body: str, heading_district: str | None, anomalies: list) -> tuple[dict, int]:
    """Parse the text after ``长`` of one entry; return the row and how much text it used."""
    row: dict[str, Any] = {c: None for c in NOTICE_COLUMNS}
    row.update(seq=seq, name=name, length_m=np.nan, width_min_m=np.nan, width_max_m=np.nan)

    ends = _ENDPOINTS.search(body)
    used = ends.end() if ends else (body.find("。") + 1 or len(body))
    clause = body[:used]
    missing = []

    length = _LENGTH.search(clause)
    if length:
        value = float(length["value"])
        row["length_m"] = value * 1000.0 if length["unit"] in ("公里", "千米", "km") else value
    else:
        missing.append("length (长…米)")

    width = _WIDTH.search(clause)
    if width:
        w1 = float(width["w1"])
        w2 = _to_float(width["w2"]) if width["w2"] else w1
        row["width_min_m"], row["width_max_m"] = w1, w2
        if w1 > w2:
            anomalies.append(_anomaly("width_order", f"width range {w1:g}-{w2:g} m runs backwards.", seq=seq, name=name))
            row["width_min_m"], row["width_max_m"] = w2, w1
    else:
        missing.append("width (宽…米)")

    location = _LOCATION.search(clause)
    district, subdistricts = heading_district, None
    if location:
        loc = location["loc"]
        if heading_district and loc.startswith(heading_district):
            rest = loc[len(heading_district):]
        else:
            prefix = _DISTRICT_PREFIX.match(loc)
            loc_district, rest = (prefix["district"], prefix["rest"]) if prefix else (None, loc)
            if heading_district is None:
                district = loc_district
            elif loc_district is not None:
                anomalies.append(
                    _anomaly(
                        "district_mismatch",
                        f"entry is under the heading {heading_district} but says it lies in {loc}.",
                        seq=seq,
                        name=name,
                    )
                )
        parts = [p for p in _SUBDISTRICT_SEP.split(rest) if p]
        subdistricts = ";".join(parts) if parts else None
    else:
        missing.append("location (位于…辖区内)")
    row["district"], row["subdistrict"] = district, subdistricts

    if ends:
        row["from_road"], row["to_road"] = ends["from_road"], ends["to_road"]
        axes = {_DIRECTION[ends["from_dir"]], _DIRECTION[ends["to_dir"]]}
        if axes == {"E", "W"}:
            row["orientation"] = "EW"
        elif axes == {"N", "S"}:
            row["orientation"] = "NS"
        else:
            anomalies.append(
                _anomaly(
                    "mixed_directions",
                    f"runs {ends['from_dir']}起…{ends['to_dir']}至, not along one axis; orientation left empty.",
                    seq=seq,
                    name=name,
                )
            )
        if ends["turn_dir"]:
            # "南至A折向西至B": the road turns at A (the corner) and ends at B.
            row["turn_road"] = ends["to_road"]
            row["turn_direction"] = _DIRECTION[ends["turn_dir"]]
            row["turn_to_road"] = ends["turn_to_road"]
            if not ends["turn_to_road"]:
                missing.append("the road the turn leads to (折向…至…)")
    else:
        missing.append("endpoints (东起…西至 or 北起…南至)")

    if missing:
        anomalies.append(
            _anomaly("unparsed", "could not read " + ", ".join(missing) + f" from: 长{clause[:80]}", seq=seq, name=name)
        )
    return row, used


def _one_char_apart(a: str, b: str) -> bool:
    if len(a) != len(b) or a == b:
        return False
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diffs) == 1 and not (diffs[0][0] in _SIBLING_CHARS and diffs[0][1] in _SIBLING_CHARS)


def _check_names(df: pd.DataFrame, anomalies: list) -> None:
    names = set(df["name"])
    endpoint_uses: Counter[str] = Counter()
    for col in ("from_road", "to_road", "turn_to_road"):
        endpoint_uses.update(v for v in df[col] if isinstance(v, str))
    # The roads an entry starts or ends at, with and without the 规划 ("planned") prefix.
    variants: dict[str, str] = {}
    for ep in endpoint_uses:
        variants[ep] = ep
        if ep.startswith("规划") and len(ep) > 2:
            variants.setdefault(ep[2:], ep)

    for row in df.itertuples(index=False):
        if row.name in endpoint_uses:
            continue
        for variant, endpoint in variants.items():
            if endpoint in names or variant in names or not _one_char_apart(row.name, variant):
                continue
            users = df.loc[
                (df["from_road"] == endpoint) | (df["to_road"] == endpoint) | (df["turn_to_road"] == endpoint), "seq"
            ].tolist()
            anomalies.append(
                _anomaly(
                    "name_near_endpoint",
                    f"road name {row.name} is one character away from {endpoint}, which entries "
                    f"{users} use as an endpoint while no entry uses {row.name}; one of the two is "
                    "probably a typo (both kept as printed).",
                    seq=row.seq,
                    name=row.name,
                )
            )

    for name, count in Counter(df["name"]).items():
        if count > 1:
            seqs = df.loc[df["name"] == name, "seq"].tolist()
            anomalies.append(_anomaly("duplicate_name", f"{name} is named by entries {seqs}.", name=name))

    by_name = df.drop_duplicates("name").set_index("name")
    for row in df.itertuples(index=False):
        for col in ("from_road", "to_road"):
            other = getattr(row, col)
            if not isinstance(other, str):
                continue
            if other == row.name:
                anomalies.append(_anomaly("self_reference", f"{col} is the road itself.", seq=row.seq, name=row.name))
            elif (
                other in by_name.index
                and row.orientation
                and by_name.at[other, "orientation"] == row.orientation
                and not isinstance(by_name.at[other, "turn_direction"], str)
            ):
                anomalies.append(
                    _anomaly(
                        "collinear_endpoint",
                        f"{row.orientation} road whose {col} {other} is also {row.orientation} in this "
                        "notice: the two can only meet end to end, one continuing the other; check "
                        "that this is meant.",
                        seq=row.seq,
                        name=row.name,
                    )
                )
            if re.fullmatch(r"(?:规划)?路|(?:南北|东西)向.*规划路", other):
                anomalies.append(
                    _anomaly(
                        "unnamed_endpoint",
                        f"{col} {other} is an unnamed planned road; it cannot be matched by name.",
                        seq=row.seq,
                        name=row.name,
                    )
                )


def _check_variants(df: pd.DataFrame, anomalies: list) -> None:
    """Flag traditional or variant characters in the names of a simplified-character notice."""
    seen: set[tuple[Any, str, str]] = set()
    for row in df.itertuples(index=False):
        for col in ("name", "from_road", "to_road", "turn_to_road"):
            value = getattr(row, col)
            if not isinstance(value, str):
                continue
            odd = [ch for ch in value if ch in _TRADITIONAL]
            if not odd or (row.seq, col, value) in seen:
                continue
            seen.add((row.seq, col, value))
            simplified = "".join(_TRADITIONAL.get(ch, ch) for ch in value)
            where = "road name" if col == "name" else f"{col}"
            anomalies.append(_anomaly(
                "variant_character",
                f"{where} {value} uses {', '.join(f'{c} (simplified {_TRADITIONAL[c]})' for c in odd)}, a traditional "
                f"or variant form in a notice printed in simplified characters; kept as printed, check whether "
                f"{simplified} is meant.", seq=row.seq, name=row.name))


def _check_sequence(df: pd.DataFrame, anomalies: list) -> None:
    seqs = df["seq"].tolist()
    expected = list(range(1, len(seqs) + 1))
    if seqs != expected:
        dupes = sorted(s for s, c in Counter(seqs).items() if c > 1)
        missing = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if dupes:
            parts.append(f"repeated {dupes}")
        if not parts:
            parts.append("out of order")
        anomalies.append(_anomaly("seq_order", "entry numbers are not 1…n in order: " + "; ".join(parts) + "."))


def _rows_to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    numeric = {"seq": "int64", "length_m": "float64", "width_min_m": "float64", "width_max_m": "float64"}
    columns = {}
    for col in NOTICE_COLUMNS:
        values = [row[col] for row in rows]
        # Text columns are plain objects with None for "not printed", whatever pandas' default.
        columns[col] = pd.Series(values, dtype=numeric.get(col, object))
    return pd.DataFrame(columns)


def _split_blocks(entries: list[re.Match]) -> list[list[re.Match]]:
    """Group entries into notices: numbering restarting at 1 after other text starts a new one."""
    if not entries:
        return []
    blocks: list[list[re.Match]] = [[entries[0]]]
    for prev, cur in zip(entries, entries[1:]):
        # A new block starts where numbering restarts at 1 after a long stretch of text.
        restart = chinese_numeral_to_int(cur["ord"]) == 1 and cur.start() - prev.end() > 400
        if restart:
            blocks.append([cur])
        else:
            blocks[-1].append(cur)
    return blocks


def parse_road_notice(text: str) -> pd.DataFrame:
    """Read a road-naming notice (济政字〔2021〕62号 format) into one row per road.

    Parameters
    ----------
    text : str
        The notice alone or a whole gazette issue containing it, as extracted from PDF.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`NOTICE_COLUMNS`: ``seq`` (int64, the entry number), ``name`` (as
        printed), ``district`` (from the heading, e.g. 市中区, 济南高新区), ``subdistrict``
        (``;``-separated when a road lies in several), ``length_m``, ``width_min_m``,
        ``width_max_m`` (float64; one printed width gives min = max), ``orientation``
        ("EW" for 东起…西至, "NS" for 北起…南至), ``from_road`` / ``to_road`` (the 起 and 至
        roads as printed, 规划 kept), for an L-shaped road ``turn_road`` (the corner,
        equal to ``to_road``), ``turn_direction`` ("E", "W", "S", "N") and
        ``turn_to_road`` (where the turned leg ends), and ``raw`` (the entry's text with
        extraction spaces removed). Names keep their printed characters; only full-width
        digits and punctuation become ASCII.

        ``df.attrs["anomalies"]`` is a list of dicts (``kind``, ``seq``, ``name``,
        ``message``) for whatever looks wrong: heading counts or the declared total that
        disagree with the rows (``heading_count``, ``declared_total``), a road name one
        character away from an endpoint other entries use (``name_near_endpoint``),
        entries numbered out of order, fields that could not be read, endpoints that are
        unnamed planned roads, roads meeting end to end, page numbers or headers removed from
        inside an entry (``page_break``), traditional or variant characters in a name
        (``variant_character``), and more. ``df.attrs["notice"]`` holds the title,
        document number, declared total and signing date where found.

    Raises
    ------
    InputTypeError
        ``text`` is not a string.
    ValidationError
        No entry of the form ``（一）名称。长…米`` was found.

    Examples
    --------
    >>> notice = '''一、示例区（1条）
    ... （一）甲乙路。长 1,200 米、宽 15一25 米，位于示例区某某街道辖区内，北起规划
    ... 丙路，南至丁路。'''
    >>> df = parse_road_notice(notice)
    >>> row = df.iloc[0]
    >>> row["name"], float(row["length_m"]), float(row["width_min_m"]), float(row["width_max_m"])
    ('甲乙路', 1200.0, 15.0, 25.0)
    >>> row["orientation"], row["from_road"], row["to_road"]
    ('NS', '规划丙路', '丁路')
    """
    if not isinstance(text, str):
        raise InputTypeError(f"`text` must be the notice as a str; got {type(text).__name__}. Read the file first.")
    marked, furniture = _mark_page_furniture(text)
    clean = _clean(marked)
    # Thousands separators inside numbers (1,200米) would read as clause breaks.
    clean = re.sub(r"(?<=\d),(?=\d{3}(?:\D|$))", "", clean)
    clean, page_breaks = _strip_marks(clean, furniture)
    blocks = _split_blocks(list(_ENTRY.finditer(clean)))
    entries = max(blocks, key=len) if blocks else []
    if not entries:
        raise ValidationError(
            "no road entry like '（一）祈福街。长447米、宽18米，位于…辖区内，东起…，西至…。' was found; "
            "pass the text of a road-naming notice (or the gazette containing it)."
        )
    first, last = entries[0].start(), entries[-1].end()
    headings = [h for h in _HEADING.finditer(clean, max(0, first - 300), last) if h.end() <= last]
    headings = [h for h in headings if not any(e.start() < h.start() < e.end() for e in entries)]

    anomalies: list[dict[str, Any]] = []
    for block in blocks:
        if block is not entries:
            anomalies.append(
                _anomaly(
                    "other_notice",
                    f"{len(block)} more entries ({block[0]['name']} …) form another numbered list in the "
                    "text; only the longest list was read. Pass that notice on its own to read it.",
                )
            )
    rows: list[dict[str, Any]] = []
    spans: list[tuple[int, int, int]] = []  # (start, end of name, end) of each entry in `clean`
    markers = sorted([(e.start(), "entry", e) for e in entries] + [(h.start(), "heading", h) for h in headings])
    heading_of_row: list[int | None] = []
    current_heading: int | None = None
    notice_end = last
    for i, (pos, kind, match) in enumerate(markers):
        if kind == "heading":
            current_heading = len([m for m in markers[: i + 1] if m[1] == "heading"]) - 1
            continue
        next_pos = markers[i + 1][0] if i + 1 < len(markers) else len(clean)
        # An entry is ~100 characters; the cap keeps the last entry of a notice inside a
        # whole gazette from reaching into the documents after it.
        body = clean[match.end():min(next_pos, match.end() + 400)]
        seq = chinese_numeral_to_int(match["ord"])
        name = match["name"]
        district = headings[current_heading]["district"] if current_heading is not None else None
        row, used = _parse_entry(seq, name, body, district, anomalies)
        row["raw"] = clean[match.start():match.end() + used]
        spans.append((match.start(), match.end(), match.end() + used))
        rows.append(row)
        heading_of_row.append(current_heading)
        notice_end = match.end() + used
        trailing = body[used:]
        if trailing and i + 1 < len(markers):
            anomalies.append(
                _anomaly(
                    "trailing_text",
                    f"text after the entry before the next one: {trailing[:60]!r}.",
                    seq=seq,
                    name=name,
                )
            )

    df = _rows_to_frame(rows)

    if headings:
        if heading_of_row and heading_of_row[0] is None:
            anomalies.append(
                _anomaly("no_heading", "entries before the first district heading; district taken from their location.")
            )
        for h_index, heading in enumerate(headings):
            declared = chinese_numeral_to_int(heading["count"])
            found = sum(1 for k in heading_of_row if k == h_index)
            if declared != found:
                anomalies.append(
                    _anomaly(
                        "heading_count",
                        f"heading {heading.group(0)} declares {declared} roads but {found} entries follow it.",
                        name=heading["district"],
                    )
                )

    notice: dict[str, Any] = {"title": None, "doc_no": None, "declared_total": None, "date": None}
    preamble_start = max(0, first - 2000)
    titles = list(_TITLE.finditer(clean, preamble_start, first))
    if titles:
        notice["title"] = titles[-1].group(0)
        preamble_start = titles[-1].start()
        doc = _DOC_NO.search(clean, titles[-1].end(), first)
        notice["doc_no"] = doc.group(0) if doc else None
    declared = list(_DECLARED.finditer(clean, preamble_start, first))
    if declared:
        notice["declared_total"] = chinese_numeral_to_int(declared[-1]["n"])
        if notice["declared_total"] != len(df):
            anomalies.append(
                _anomaly(
                    "declared_total",
                    f"the preamble names {notice['declared_total']} roads but {len(df)} entries were found.",
                )
            )
    date = _DATE.search(clean, notice_end, notice_end + 80)
    if date:
        notice["date"] = f"{int(date[1]):04d}-{int(date[2]):02d}-{int(date[3]):02d}"

    for pos, line in page_breaks:
        for (start, name_end, end), row in zip(spans, rows):
            if start < pos < end:
                part = "name" if pos < name_end else "text"
                anomalies.append(_anomaly(
                    "page_break",
                    f"page furniture {line!r} (a PDF page break) stood inside the entry's {part} and was removed; "
                    "check the entry around it.", seq=row["seq"], name=row["name"]))
                break
    _check_sequence(df, anomalies)
    _check_names(df, anomalies)
    _check_variants(df, anomalies)
    df.attrs["anomalies"] = anomalies
    df.attrs["notice"] = notice
    return df


def road_junctions(df: pd.DataFrame) -> pd.DataFrame:
    """The junctions a road-naming notice declares: which road starts, turns or ends at which.

    Parameters
    ----------
    df : pandas.DataFrame
        The result of :func:`parse_road_notice` (needs ``seq``, ``name``, ``from_road``,
        ``to_road``; ``turn_road`` and ``turn_to_road`` are used when present).

    Returns
    -------
    pandas.DataFrame
        One row per declared junction with columns ``seq``, ``road``, ``other_road``,
        ``relation`` and ``other_in_notice`` (whether ``other_road`` is itself named by
        the notice). ``relation`` is where on ``road`` the junction lies: "from" (its
        起 end), "to" (its 至 end), and for an L-shaped road "turn" (the corner, which the
        notice prints as the 至 road, so no "to" row is given) and "turn_to" (the end of
        the turned leg).

    Examples
    --------
    >>> df = parse_road_notice("（一）甲路。长300米、宽15米，位于某区某街道辖区内，北起乙路，"
    ...                        "南至丙路折向西至丁路的“L”型道路。")
    >>> road_junctions(df)[["road", "other_road", "relation"]].values.tolist()
    [['甲路', '乙路', 'from'], ['甲路', '丙路', 'turn'], ['甲路', '丁路', 'turn_to']]
    """
    if not isinstance(df, pd.DataFrame):
        raise InputTypeError(f"`df` must be the DataFrame from parse_road_notice; got {type(df).__name__}.")
    required = ["seq", "name", "from_road", "to_road"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"road_junctions needs columns {missing}, which the table lacks (it has {list(df.columns)}); "
            "pass the result of parse_road_notice."
        )
    names = set(df["name"])
    out = []
    for row in df.to_dict("records"):
        is_l_shaped = isinstance(row.get("turn_to_road"), str) or isinstance(row.get("turn_direction"), str)
        pairs = [("from", row["from_road"]), ("turn" if is_l_shaped else "to", row["to_road"])]
        if is_l_shaped:
            pairs.append(("turn_to", row.get("turn_to_road")))
        for relation, other in pairs:
            if isinstance(other, str) and other:
                out.append(
                    {
                        "seq": row["seq"],
                        "road": row["name"],
                        "other_road": other,
                        "relation": relation,
                        "other_in_notice": other in names,
                    }
                )
    return pd.DataFrame(out, columns=["seq", "road", "other_road", "relation", "other_in_notice"])
