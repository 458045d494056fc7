"""The road-naming notice parser on the real 济政字〔2021〕62号 and on hand-written notices."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cimtwin.errors import InputTypeError, SchemaError, ValidationError
from cimtwin.io.gazette import NOTICE_COLUMNS, chinese_numeral_to_int, parse_road_notice, road_junctions

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def gazette_text() -> str:
    return (DATA / "jinan_gazette_2021_19.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real(gazette_text) -> pd.DataFrame:
    return parse_road_notice(gazette_text)


def _kinds(df):
    return sorted(a["kind"] for a in df.attrs["anomalies"])


# --- numerals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("一", 1), ("九", 9), ("十", 10), ("十五", 15), ("二十", 20), ("五十九", 59), ("六十", 60),
     ("九十九", 99), ("一百", 100), ("一百零三", 103), ("一百一十", 110), ("一百十二", 112),
     ("两百", 200), ("一〇三", 103), ("59", 59), ("５９", 59)],
)
def test_chinese_numerals(text, value):
    assert chinese_numeral_to_int(text) == value


def test_bad_numeral():
    with pytest.raises(ValidationError):
        chinese_numeral_to_int("五十九路")


# --- the real notice ------------------------------------------------------------------


def test_real_notice_counts_and_total(real):
    assert list(real.columns) == NOTICE_COLUMNS
    assert len(real) == 59
    assert real["seq"].tolist() == list(range(1, 60))
    assert real.groupby("district", sort=False).size().to_dict() == {"市中区": 9, "历城区": 44, "济南高新区": 6}
    assert real["length_m"].sum() == pytest.approx(56873.6, abs=1e-6)
    assert real["seq"].dtype == np.int64
    for col in ("length_m", "width_min_m", "width_max_m"):
        assert real[col].dtype == np.float64
        assert real[col].notna().all()
    assert set(real["orientation"]) == {"EW", "NS"}
    assert real.attrs["notice"] == {
        "title": "关于祈福街等市区内道路命名的通知",
        "doc_no": "济政字〔2021〕62号",
        "declared_total": 59,
        "date": "2021-09-03",
    }


def test_real_notice_rows(real):
    by_name = real.set_index("name")
    first = by_name.loc["祈福街"]
    assert (first.seq, first.district, first.subdistrict, first.length_m, first.width_min_m,
            first.width_max_m, first.orientation, first.from_road, first.to_road) == (
        1, "市中区", "陡沟街道", 447.0, 18.0, 18.0, "EW", "观音祠路", "规划十号支路")
    # split over lines / spaces inside words ("规 划克朗山南路")
    assert by_name.loc["大庙屯西路", "from_road"] == "规划克朗山南路"
    assert by_name.loc["迎福街", "from_road"] == "观音祠路"
    assert by_name.loc["流翠街", "from_road"] == "凤集路"
    # two entries extracted onto one line
    assert by_name.loc["水芝东路", "to_road"] == "港田路北延线"
    assert by_name.loc["凤彩路", ["seq", "length_m", "from_road", "to_road"]].tolist() == [31, 707.4, "潘田街", "莲岳街"]
    # width ranges, including "35 一45米"
    assert by_name.loc["港田路", ["width_min_m", "width_max_m"]].tolist() == [15.0, 25.0]
    assert by_name.loc["通平大街", ["width_min_m", "width_max_m"]].tolist() == [35.0, 50.0]
    assert by_name.loc["荷风路", ["width_min_m", "width_max_m"]].tolist() == [35.0, 45.0]
    # the L-shaped road
    l_road = by_name.loc["港田路"]
    assert (l_road.orientation, l_road.from_road, l_road.to_road, l_road.turn_road, l_road.turn_direction,
            l_road.turn_to_road) == ("NS", "熙和街", "港沟东路", "港沟东路", "W", "华盛路")
    assert real["turn_direction"].notna().sum() == 1
    # two sub-districts, names as printed, descriptive endpoints without spaces
    assert by_name.loc["通虞大街", "subdistrict"] == "董家街道;郭店街道"
    assert by_name.loc["通虞大街", "from_road"] == "南北向25米规划路"
    assert "荷葉路" in by_name.index and "风集路" in by_name.index
    assert by_name.loc["港源十路", ["seq", "subdistrict", "from_road", "to_road"]].tolist() == [
        59, "章锦街道", "规划港兴二路", "规划港源十一路"]
    assert by_name.loc["熙和街", "length_m"] == 222.3
    assert not real["raw"].str.contains(r"\s").any()
    assert real.loc[28, "raw"].endswith('南至港沟东路折向西至华盛路的"L"型道路。')


def test_real_notice_alone_gives_the_same(gazette_text, real):
    lines = gazette_text.splitlines()
    alone = "\n".join(lines[124:248])  # lines 125-248 of the file (124-247 of the gazette)
    assert alone.startswith("济南市人民政府 关于祈福街") and "港源十一" in alone
    df = parse_road_notice(alone)
    pd.testing.assert_frame_equal(df, real)
    assert df.attrs == real.attrs


def test_real_notice_anomalies(real):
    anomalies = real.attrs["anomalies"]
    near = [a for a in anomalies if a["kind"] == "name_near_endpoint"]
    assert [(a["seq"], a["name"]) for a in near] == [(32, "风集路")]
    assert "凤集路" in near[0]["message"]
    # the headings agree with the rows and the preamble's 59 with the count
    assert not any(a["kind"] in ("heading_count", "declared_total", "seq_order", "unparsed") for a in anomalies)
    unnamed = sorted({a["seq"] for a in anomalies if a["kind"] == "unnamed_endpoint"})
    assert unnamed == [43, 45, 51, 52, 53]
    # 港田路 turns at 港沟东路, which continues it southward: reported, not hidden
    assert [(a["seq"], a["kind"]) for a in anomalies if a["kind"] == "collinear_endpoint"] == [(29, "collinear_endpoint")]


def test_real_junctions(real):
    j = road_junctions(real)
    assert list(j.columns) == ["seq", "road", "other_road", "relation", "other_in_notice"]
    assert j["relation"].value_counts().to_dict() == {"from": 59, "to": 58, "turn": 1, "turn_to": 1}
    l_road = j[j["road"] == "港田路"][["other_road", "relation"]].values.tolist()
    assert l_road == [["熙和街", "from"], ["港沟东路", "turn"], ["华盛路", "turn_to"]]
    starts_at_fengji = set(j[(j["other_road"] == "凤集路") & (j["relation"] == "from")]["road"])
    assert starts_at_fengji == {"永乐街", "平乐街", "潘田街", "绍文街", "莲岳街", "阅翠街", "映翠街", "流翠街", "金口街"}
    assert j.set_index(["road", "other_road"]).loc[("观音祠路", "祈福街"), "other_in_notice"]


# --- hand-written notices ---------------------------------------------------------------


def test_synthetic_gazette_notice():
    df = parse_road_notice((DATA / "notice_synthetic_gazette.txt").read_text(encoding="utf-8"))
    columns = {
        "seq": [1, 2, 3, 4, 5, 6],
        "name": ["青松路", "白云街", "石桥路", "红枫路", "风栖路", "金桂巷"],
        "district": ["东湖区", "东湖区", "西山区", "西山区", "西山区", "西山区"],
        "subdistrict": ["柳岸街道", "柳岸街道;桃源街道", "石门镇", "石门镇", "石门镇", "石门镇"],
        "length_m": [456.7, 1200.0, 2345.6, 800.0, 612.5, 98.0],
        "width_min_m": [20.0, 15.0, 35.0, 30.0, 18.0, 7.0],
        "width_max_m": [20.0, 25.0, 45.0, 30.0, 18.0, 7.0],
        "orientation": ["NS", "EW", "NS", "EW", "NS", "EW"],
        "from_road": ["规划一号路", "青松路", "白云街", "凤栖路", "白云街", "凤栖路"],
        "to_road": ["白云街", "规划二号路", "红枫路", "青松路", "红枫路", "青松路"],
        "turn_road": [None, None, "红枫路", None, None, None],
        "turn_direction": [None, None, "E", None, None, None],
        "turn_to_road": [None, None, "规划三号路", None, None, None],
    }
    numeric = {"seq": "int64", "length_m": "float64", "width_min_m": "float64", "width_max_m": "float64"}
    # text columns are object dtype with None where nothing is printed
    expected = pd.DataFrame({k: pd.Series(v, dtype=numeric.get(k, object)) for k, v in columns.items()})
    pd.testing.assert_frame_equal(df.drop(columns="raw"), expected)
    assert df.loc[1, "raw"] == "(二)白云街。长1200米、宽15~25米,位于东湖区柳岸街道、桃源街道辖区内,东起青松路,西至规划二号路。"
    assert df.attrs["notice"] == {"title": "关于青松路等道路命名的通知", "doc_no": "示政字〔2024〕7号",
                                  "declared_total": 6, "date": "2024-03-05"}
    anomalies = df.attrs["anomalies"]
    assert _kinds(df) == ["heading_count", "heading_count", "name_near_endpoint"]
    counts = {a["name"]: a["message"] for a in anomalies if a["kind"] == "heading_count"}
    assert "declares 3 roads but 2 entries" in counts["东湖区"]
    assert "declares 3 roads but 4 entries" in counts["西山区"]
    near = next(a for a in anomalies if a["kind"] == "name_near_endpoint")
    assert (near["seq"], near["name"]) == (5, "风栖路") and "凤栖路" in near["message"] and "[4, 6]" in near["message"]

    j = road_junctions(df)
    assert j[j["road"] == "石桥路"][["other_road", "relation"]].values.tolist() == [
        ["白云街", "from"], ["红枫路", "turn"], ["规划三号路", "turn_to"]]


def test_synthetic_odd_notice():
    df = parse_road_notice((DATA / "notice_synthetic_odd.txt").read_text(encoding="utf-8"))
    assert df["seq"].tolist() == [1, 2, 4, 5]
    assert df["district"].tolist() == ["北塘区"] * 4  # no headings: taken from the location
    assert df["length_m"].tolist() == [1200.0, 650.0, 900.0, 300.0]  # 1.2公里 -> metres
    assert df.loc[0, ["width_min_m", "width_max_m", "orientation", "from_road", "to_road"]].tolist() == [
        20.0, 30.0, "EW", "滨河路", "长河东路"]  # 西起…东至 is EW too
    assert df.loc[1, ["width_min_m", "width_max_m"]].tolist() == [20.0, 30.0]
    assert df.loc[2, "orientation"] is None
    assert np.isnan(df.loc[3, "width_min_m"]) and np.isnan(df.loc[3, "width_max_m"])
    assert _kinds(df) == ["mixed_directions", "seq_order", "unparsed", "width_order"]
    by_kind = {a["kind"]: a for a in df.attrs["anomalies"]}
    assert "missing [3]" in by_kind["seq_order"]["message"]
    assert by_kind["unparsed"]["seq"] == 5 and "width" in by_kind["unparsed"]["message"]
    assert by_kind["width_order"]["seq"] == 2
    assert df.attrs["notice"]["declared_total"] is None


# --- generated notices: any notice of this format, not just the real one ------------------


def _cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = ""
    if hundreds:
        out += digits[hundreds] + "百"
        if rest and tens == 0:
            out += "零"
    if tens:
        out += ("" if tens == 1 and not hundreds else digits[tens]) + "十"
    if ones:
        out += digits[ones]
    return out


def _mangle(text: str, rng: random.Random) -> str:
    """What PDF extraction does: stray spaces and line breaks, full-width digits."""
    out = []
    for ch in text:
        if ch.isdigit() and rng.random() < 0.3:
            ch = chr(ord(ch) + 0xFEE0)
        out.append(ch)
        r = rng.random()
        if r < 0.08:
            out.append(" ")
        elif r < 0.10:
            out.append("\n\n")
    return "".join(out)


def test_generated_notice_with_103_roads():
    # Synthetic notice: 103 invented roads in three districts, numbered up to 一百零三.
    rng = random.Random(7)
    districts = [("甲区", 40), ("乙县", 50), ("丙新区", 13)]
    dashes = ["-", "～", " 一", "—", "~"]
    rows, parts, seq = [], ["示例市人民政府关于测试路等道路命名的通知\n\n确定命名测试路等103条新建道路。\n"], 0
    for d_index, (district, count) in enumerate(districts, start=1):
        parts.append(f"{_cn(d_index)}、{district}（{count}条）\n")
        for _ in range(count):
            seq += 1
            name = f"测{_cn(seq)}号路"
            length = round(rng.uniform(80, 6000), 1)
            w1 = rng.choice([10, 15, 20, 25, 30])
            w2 = w1 + rng.choice([0, 0, 5, 15])
            width = f"{w1}米" if w1 == w2 else f"{w1}{rng.choice(dashes)}{w2}米"
            subs = ["东街道"] if rng.random() < 0.8 else ["东街道", "西镇"]
            ew = rng.random() < 0.5
            start, end = f"规划纵{_cn(seq)}路", f"横{_cn(seq + 1)}路"
            ends = f"东起{start}，西至{end}" if ew else f"北起{start}，南至{end}"
            parts.append(
                f"（{_cn(seq)}）{name}。长{length:g}米、宽{width}，位于{district}{'、'.join(subs)}辖区内，{ends}。\n"
            )
            rows.append((seq, name, district, ";".join(subs), float(f"{length:g}"), float(w1), float(w2),
                         "EW" if ew else "NS", start, end))
    text = _mangle("".join(parts), rng)
    df = parse_road_notice(text)
    got = list(df[["seq", "name", "district", "subdistrict", "length_m", "width_min_m", "width_max_m",
                   "orientation", "from_road", "to_road"]].itertuples(index=False, name=None))
    assert got == rows
    assert df.attrs["anomalies"] == []
    assert df.attrs["notice"]["declared_total"] == 103


# --- bad input -----------------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(InputTypeError):
        parse_road_notice(b"bytes")
    with pytest.raises(ValidationError, match="no road entry"):
        parse_road_notice("（一）指导思想。坚持以人民为中心。")
    with pytest.raises(SchemaError, match="from_road"):
        road_junctions(pd.DataFrame({"seq": [1], "name": ["a"]}))
    with pytest.raises(InputTypeError):
        road_junctions([1, 2])


def test_second_notice_in_the_text_is_reported():
    gazette = (DATA / "notice_synthetic_gazette.txt").read_text(encoding="utf-8")
    other = (DATA / "notice_synthetic_odd.txt").read_text(encoding="utf-8")
    df = parse_road_notice(gazette + "\n" + "其他公文正文。" * 80 + "\n" + other)
    assert df["name"].tolist() == ["青松路", "白云街", "石桥路", "红枫路", "风栖路", "金桂巷"]
    other_notice = [a for a in df.attrs["anomalies"] if a["kind"] == "other_notice"]
    assert len(other_notice) == 1 and "4 more entries" in other_notice[0]["message"]


# --- page furniture and variant characters (issue 11 §5) --------------------------------


_PAGED = """一、示例区（2条）
（一）荷花
- 2 -
路。长 1,200 米、宽 15一25 米，位于示例区某某街道辖区内，北起规划
丙路，南至丁路。
（二）柳岸路。长 300 米、宽 35
济南市人民政府公报 2021年第19期
一45 米，位于示例区某某街道辖区内，东起荷花路，西至
— 3 —
丁路。"""


def test_page_number_inside_an_entry_is_removed_and_flagged():
    df = parse_road_notice(_PAGED)
    assert df["name"].tolist() == ["荷花路", "柳岸路"]  # never "荷花2-路"
    assert df["width_min_m"].tolist() == [15.0, 35.0] and df["width_max_m"].tolist() == [25.0, 45.0]
    assert df["from_road"].tolist() == ["规划丙路", "荷花路"] and df["to_road"].tolist() == ["丁路", "丁路"]
    breaks = [(a["seq"], a["message"]) for a in df.attrs["anomalies"] if a["kind"] == "page_break"]
    assert [s for s, _ in breaks] == [1, 2, 2]
    assert "'- 2 -'" in breaks[0][1] and "name" in breaks[0][1]
    assert "公报" in breaks[1][1] and "'— 3 —'" in breaks[2][1]
    assert not any("2-" in str(v) or "公报" in str(v) for v in df["raw"])


@pytest.mark.parametrize("line", ["- 12 -", "—7—", "第 3 页", "第3页 共9页", "4/10", "2021年第19期"])
def test_page_furniture_forms(line):
    text = f"（一）甲乙路。长 800 米、宽 20 米，位于示例区某某街道辖区内，东起\n{line}\n丙路，西至丁路。"
    df = parse_road_notice(text)
    assert df["from_road"].iloc[0] == "丙路" and df["length_m"].iloc[0] == 800.0
    assert _kinds(df) == ["page_break"]


def test_a_number_alone_on_a_line_is_kept():
    # a length split over lines is content, not a page number
    df = parse_road_notice("（一）甲乙路。长\n800\n米、宽 20 米，位于示例区某某街道辖区内，东起丙路，西至丁路。")
    assert df["length_m"].iloc[0] == 800.0 and _kinds(df) == []


def test_variant_characters_are_flagged(real):
    flagged = [a for a in real.attrs["anomalies"] if a["kind"] == "variant_character"]
    assert [(a["seq"], a["name"]) for a in flagged] == [(55, "荷葉路")]
    assert "荷叶路" in flagged[0]["message"]
    assert real.loc[real["seq"] == 55, "name"].item() == "荷葉路"  # kept as printed
    df = parse_road_notice("（一）甲路。长 300 米、宽 15 米，位于某区某街道辖区内，东起東風路，西至乙路。")
    assert [a["message"] for a in df.attrs["anomalies"] if a["kind"] == "variant_character"][0].startswith(
        "from_road 東風路 uses 東 (simplified 东), 風 (simplified 风)")
