from pathlib import Path

import pytest

from cimtwin.errors import SchemaError, ValidationError
from cimtwin.targets import load_catalog, parse_computation
from cimtwin.targets.evaluate import COMPUTATIONS

# the seed texts sit in ../shared/seeds beside the repository (or beside the folder of worktrees)
SEEDS = next((p / "shared" / "seeds" for p in Path(__file__).resolve().parents if (p / "shared" / "seeds").is_dir()),
             Path("shared") / "seeds")


def test_catalogue_shape():
    cat = load_catalog()
    assert len(cat) >= 20
    assert cat["id"].is_unique
    assert set(cat["comparator"]) <= {">=", ">", "="}
    assert set(cat["year"]) <= {2020, 2021, 2022, 2023, 2025}
    assert set(cat.loc[cat["year"] == 2020, "kind"]) == {"fact"}  # the baselines
    assert {2022, 2023, 2025} <= set(cat["year"])
    ratios = cat[cat["unit"] == "fraction"]
    assert ratios["value"].between(0, 1).all()
    for text in cat["computation"]:
        assert parse_computation(text).name in COMPUTATIONS


def test_comparators_follow_the_text():
    cat = load_catalog().set_index("id")
    # 以上 / 不低于 include the number; 超过 is strict.
    assert cat.loc["sites_5g_2023", ["comparator", "value"]].tolist() == [">=", 40000.0]
    assert cat.loc["video_channels_connected", "comparator"] == ">="
    assert cat.loc["health_interconnection", ["comparator", "value"]].tolist() == [">", 0.9]
    # Text 达到 95% vs table ">95": the text's comparator, the mismatch flagged, the table kept.
    row = cat.loc["reservoir_video_coverage"]
    assert row["comparator"] == ">=" and row["value"] == 0.95
    assert ">95" in row["table"] and "mismatch" in row["flag"]
    assert "mismatch" in cat.loc["smart_community_demos", "flag"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed texts are not beside the repository")
def test_quotes_are_on_the_cited_lines():
    files = {p.name[:3]: p.read_text(encoding="utf-8").splitlines() for p in SEEDS.glob("00[0-9]_*.txt")}
    for row in load_catalog().itertuples():
        pieces = [p.replace(" ", "") for p in row.zh.split("…")]
        refs = [r.strip() for r in row.lines.split(";")]
        text = ""
        for ref in refs:
            doc, lines = ref.split(":")
            lo, _, hi = lines.partition("-")
            text += "".join(files[doc][int(lo) - 1:int(hi or lo)])
        text = text.replace(" ", "")
        for piece in pieces:
            assert piece in text, (row.id, piece)


def test_parse_computation_is_literal_only():
    comp = parse_computation('coverage_ratio(sensors="cameras", radius_m=50.0)')
    assert comp.name == "coverage_ratio" and comp.kwargs == {"sensors": "cameras", "radius_m": 50.0}
    with pytest.raises(ValidationError):
        parse_computation("count(layer=__import__('os'))")
    with pytest.raises(ValidationError):
        parse_computation("os.system('x')")
    with pytest.raises(ValidationError):
        parse_computation("count('cameras')")


def test_bad_catalogue_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[target]]\nid = "x"\nzh = "q"\nen = "e"\nsource = "s"\nlines = "000:1"\nyear = 2025\n'
                   'comparator = "<="\nvalue = 1\nunit = "count"\ncomputation = \'count(layer="a")\'\n',
                   encoding="utf-8")
    with pytest.raises(SchemaError, match="comparator"):
        load_catalog(bad)


def test_the_seed_targets_are_in_the_catalogue():
    cat = load_catalog().set_index("id")
    for tid in ("fitness_circle_15min", "baseline_5g_sites_2020", "baseline_video_channels_2020",
                "housing_managed_on_map", "projects_managed_on_map", "smart_construction_coverage",
                "jining_platform_townships", "jining_platform_communities", "jining_platform_grid_cells"):
        assert tid in cat.index, tid
    assert cat.loc["baseline_5g_sites_2020", ["kind", "comparator", "value"]].tolist() == ["fact", ">", 17000.0]
    assert cat.loc["housing_managed_on_map", "value"] == 0.9
    assert cat.loc["smart_construction_coverage", "value"] == 0.8
    assert "Jining" in cat.loc["jining_platform_grid_cells", "flag"]


def test_targets_needing_a_missing_layer_stay_with_a_reason(hand_model):
    from cimtwin.targets import evaluate

    t = evaluate(hand_model, ids=["fitness_circle_15min", "jining_platform_communities", "jining_platform_townships",
                                  "housing_managed_on_map"], zones=False).set_index("target_id")
    assert t.loc["fitness_circle_15min", "reason"] == "no fitness_venues layer"
    assert t.loc["jining_platform_communities", "reason"] == "no communities layer"
    assert "no column 'platform_connected'" in t.loc["jining_platform_townships", "reason"]
    assert "no column 'on_map'" in t.loc["housing_managed_on_map", "reason"]
    assert t["value"].isna().all() and t["met"].isna().all()
