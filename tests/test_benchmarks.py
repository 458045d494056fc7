"""benchmarks/RESULTS.md is generated: make_results.py renders the committed JSON into it unchanged."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _make_results():
    spec = importlib.util.spec_from_file_location("make_results", BENCH / "make_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_md_is_rendered_from_the_committed_json():
    mr = _make_results()
    files = sorted((BENCH / "results").glob("*.json"))
    assert files, "no benchmarks/results/*.json"
    rendered = mr.render(mr.load(BENCH / "results"))
    assert rendered == (BENCH / "RESULTS.md").read_text(encoding="utf-8"), (
        "RESULTS.md differs from the JSON: run python benchmarks/make_results.py")


def test_every_results_file_has_the_agreed_keys():
    for path in sorted((BENCH / "results").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("script", "command", "machine", "versions", "load_before", "load_after", "date", "rows"):
            assert key in data, f"{path.name}: no {key!r}"
        for row in data["rows"]:
            for key in ("op", "size", "ours", "anchor", "anchor_t", "ratio", "goal", "goal_ratio", "goal_s", "met",
                        "note"):
                assert key in row, f"{path.name}: row {row.get('op')!r} has no {key!r}"


def _row(**kw):
    row = {"op": "x", "size": 10**6, "ours": {"median_s": 1.0, "min_s": 0.9, "max_s": 1.2}, "anchor": None,
           "anchor_t": None, "ratio": None, "goal": None, "goal_ratio": None, "goal_s": None, "met": None, "note": ""}
    row.update(kw)
    return row


def test_goal_status_follows_met_and_extra_keys_render():
    mr = _make_results()
    data = {"script": "bench_x.py", "command": "python benchmarks/bench_x.py", "machine": "m", "versions": {"a": "1"},
            "load_before": [1.0, 1.0, 1.0], "load_after": [2.0, 2.0, 2.0], "date": "2026-01-01T00:00:00+00:00",
            "gpu": "none", "rows": [
                _row(op="fast", anchor="ref", anchor_t={"median_s": 3.0, "min_s": 3.0, "max_s": 3.0}, ratio=3.0,
                     goal=">= 2x", goal_ratio=2.0, met=True, extra_figure=1.5),
                _row(op="slow", anchor="ref", anchor_t={"median_s": 1.5, "min_s": 1.5, "max_s": 1.5}, ratio=1.5,
                     goal=">= 2x", goal_ratio=2.0, met=False),
                _row(op="unmeasured", goal="<= 1 s", goal_s=1.0, met=None)]}
    text = mr.render([data])
    assert "| fast | 1e6 | >= 2x | 3x | met |  |" in text
    assert "| slow | 1e6 | >= 2x | 1.5x | **not met** |  |" in text
    assert "not measured" in text and "1 of 3 goals met, 1 not met, 1 not measured." in text
    assert "extra_figure" in text and "- gpu: none" in text


@pytest.mark.parametrize("value, text", [(1234.5, "1234"), (0.01234, "0.0123"), (None, "-"), (True, "yes")])
def test_number_format(value, text):
    assert _make_results().fmt_num(value) == text


def test_a_second_results_file_of_one_script_gets_its_own_section_and_working_links(tmp_path):
    mr = _make_results()
    base = {"command": "c", "machine": "m", "versions": {}, "load_before": [0, 0, 0], "load_after": [0, 0, 0],
            "date": "d", "rows": [_row(op="x", goal="<= 1 s", goal_s=1.0, met=True)]}
    for stem in ("bench_x", "bench_x_large"):
        (tmp_path / f"{stem}.json").write_text(json.dumps({**base, "script": "benchmarks/bench_x.py"}))
    text = mr.render(mr.load(tmp_path))
    assert "## benchmarks/bench_x.py\n" in text and "## benchmarks/bench_x.py (bench_x_large)\n" in text
    # GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped
    assert "(#benchmarksbench_xpy)" in text and "(#benchmarksbench_xpy-bench_x_large)" in text
