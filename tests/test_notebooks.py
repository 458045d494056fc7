"""The notebooks run top to bottom on the Jinan sample (nbclient; each cell ≤ 60 s).

Skipped with the reason when nbclient/ipykernel are missing or the sample cannot be loaded.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 60


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
def test_notebook_runs(path, sample_available, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import os

    book = nbformat.read(path, as_version=4)
    # The kernel starts in the repository root, so `import cimtwin` works without installing it.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    client = nbclient.NotebookClient(book, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
