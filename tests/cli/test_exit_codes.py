"""Exit status and one-line errors of the CLI; a PostgreSQL URL wherever a model path goes."""

import json

import geopandas as gpd
import pytest
import shapely

import cimtwin
from cimtwin.cli.main import main


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "town.cimtwin"
    districts = gpd.GeoDataFrame({"name": ["历下区"]}, geometry=[shapely.box(117.0, 36.6, 117.1, 36.7)],
                                 crs="EPSG:4326")
    model = cimtwin.CityModel.from_layers({"districts": districts}, metadata={"name": "town"})
    model.save(path)
    return path


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_success_is_0(town, capsys):
    assert main(["info", str(town)]) == 0
    assert main(["validate", str(town)]) == 0


def test_a_path_that_does_not_exist_is_2(tmp_path, capsys):
    for command in ("info", "validate"):
        assert main([command, str(tmp_path / "nowhere.cimtwin")]) == 2
        _one_line_error(capsys, "does not exist")


def test_a_damaged_model_is_2(town, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken.cimtwin"
    shutil.copytree(town, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    gpkg = broken / manifest["vector_file"]
    gpkg.write_bytes(gpkg.read_bytes()[:1000])
    assert main(["validate", str(broken)]) == 2
    _one_line_error(capsys, "damaged", manifest["vector_file"])
    (broken / "manifest.json").write_text("{not json")
    assert main(["info", str(broken)]) == 2
    _one_line_error(capsys, "manifest.json", "damaged")


def test_out_that_is_a_file_is_2(town, tmp_path, capsys):
    (tmp_path / "taken").write_text("mine")
    assert main(["--quiet", "coverage", str(town), "--out", str(tmp_path / "taken")]) == 2
    _one_line_error(capsys, "is a file")
    assert main(["--quiet", "risk", str(town), "--out", str(tmp_path / "taken" / "sub")]) == 2
    _one_line_error(capsys, "cannot be created")
    assert (tmp_path / "taken").read_text() == "mine"


def test_unwritable_out_is_2(capsys):
    # /proc refuses new folders even to root, so this holds whoever runs the tests
    assert main(["--quiet", "demo", "--no-targets", "--out", "/proc/cimtwin-test/out"]) == 2
    _one_line_error(capsys, "/proc/cimtwin-test")


def test_usage_errors_are_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["info", "--no-such-option"])
    assert exc.value.code == 2


def test_a_url_works_wherever_a_path_does(town, pg_url, tmp_path, capsys):
    model = cimtwin.read_model(town)
    model.save(pg_url)
    model.with_metadata(name="town v2").save(pg_url)
    assert main(["info", pg_url]) == 0
    out = capsys.readouterr().out
    assert "version 2 of 2" in out and "town v2" in out
    assert main(["info", pg_url + "&version=1"]) == 0
    assert "model   town\n" in capsys.readouterr().out
    assert main(["validate", pg_url]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    assert main(["--quiet", "coverage", pg_url, "--out", str(tmp_path / "cov")]) == 0
    assert (tmp_path / "cov" / "coverage_ratios.csv").exists()


def test_an_unreachable_url_is_2_and_hides_the_password(capsys):
    assert main(["info", "postgresql://planner:s3cret@127.0.0.1:1/cim?schema=jinan"]) == 2
    err = _one_line_error(capsys, "Cannot connect to PostgreSQL")
    assert "s3cret" not in err


def test_a_url_without_a_model_is_2(pg_url, capsys):
    assert main(["validate", pg_url]) == 2
    _one_line_error(capsys, "no saved cimtwin model")


@pytest.mark.parametrize("command", ["demo", "info", "validate", "coverage", "risk", "report", "evaluate"])
def test_quiet_before_or_after_every_subcommand(command):
    from cimtwin.cli.main import build_parser

    extra = ["--out", "x"] if command in ("coverage", "risk", "evaluate") else []
    after = build_parser().parse_args([command, *extra, "--quiet"])
    before = build_parser().parse_args(["--quiet", command, *extra])
    plain = build_parser().parse_args([command, *extra])
    assert after.quiet and before.quiet and not plain.quiet
