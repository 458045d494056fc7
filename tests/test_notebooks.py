"""The notebooks run top to bottom on the Jinan sample (nbclient).

Each notebook aims at under 60 s once numba's kernels are compiled; the kernels share one
on-disk numba cache for the session, so a kernel compiled by one notebook is reused by the
next. The per-cell timeout is only a safety net (no timing assertions). Skipped with the
reason when nbclient/ipykernel are missing or the sample cannot be loaded.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def sample_available():
    try:
        import cimtwin

        cimtwin.load_sample("jinan")
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"the Jinan sample is not available: {exc}")


def test_six_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["00_quickstart", "01_coverage", "02_routing", "03_risk",
                                           "04_targets_report", "05_pydeck"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, sample_available, monkeypatch, tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import os

    book = nbformat.read(path, as_version=4)
    # The kernel starts in the repository root, so `import cimtwin` works without installing it.
    cache = tmp_path_factory.getbasetemp() / "numba-cache"
    cache.mkdir(exist_ok=True)
    monkeypatch.setenv("CIMTWIN_NUMBA_CACHE", "1")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    client = nbclient.NotebookClient(book, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
