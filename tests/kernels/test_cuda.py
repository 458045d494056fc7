"""CUDA backend: kernels against their CPU twins under the simulator, and backend errors.

The simulator must be on before numba.cuda is first imported, so ``cudasim_cases.py`` runs in
a fresh interpreter with ``NUMBA_ENABLE_CUDASIM=1``. Here, in the suite's own process, we
check that an unusable CUDA backend is refused with a reason and a fix.
"""

import importlib.abc
import os
import subprocess
import sys

import numpy as np
import pytest

from cimtwin.errors import BackendUnavailableError, CimtwinError
from cimtwin.kernels import _dispatch
from cimtwin.kernels._dispatch import cuda_available, resolve_backend, select

from tests._cudasim import ROOT, assert_cases_pass_under_cudasim


@pytest.mark.slow
def test_cuda_kernels_match_cpu_under_simulator():
    assert_cases_pass_under_cudasim(ROOT / "tests" / "kernels" / "cudasim_cases.py", timeout=1200)


class _NumpyTooNew(importlib.abc.MetaPathFinder):
    """Makes ``import numba.cuda`` fail the way numba-cuda does under NumPy >= 2.5."""

    def find_spec(self, name, path=None, target=None):
        if name == "numba.cuda":
            raise AttributeError("module 'numpy' has no attribute 'row_stack'")
        return None


def test_numpy_without_row_stack_is_explained(monkeypatch):
    import numba

    monkeypatch.delattr(np, "row_stack", raising=False)
    monkeypatch.delattr(numba, "cuda", raising=False)
    for name in [m for m in sys.modules if m == "numba.cuda" or m.startswith("numba.cuda.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NumpyTooNew(), *sys.meta_path])
    ok, why = _dispatch.cuda_status.__wrapped__()
    assert not ok
    assert "np.row_stack" in why and "numpy<2.5" in why and "numba-cuda" in why


def test_driver_problems_are_explained():
    assert "install the NVIDIA driver" in _dispatch._driver_advice("CUDA driver library cannot be found.")
    assert "CUDA_VISIBLE_DEVICES" in _dispatch._driver_advice("CUDA_ERROR_NO_DEVICE")
    assert "update the driver" in _dispatch._driver_advice("CUDA_ERROR_INSUFFICIENT_DRIVER: driver version")


def test_explicit_cuda_without_gpu_says_why_and_how():
    if cuda_available():
        pytest.skip("a CUDA device (or the simulator) is present in this process")
    with pytest.raises(BackendUnavailableError, match="cannot be used: .*backend='cpu'") as info:
        resolve_backend("cuda")
    assert isinstance(info.value, CimtwinError) and isinstance(info.value, RuntimeError)
    assert _dispatch.cuda_status()[1] in str(info.value)


def test_op_without_cuda_kernel_says_it_runs_on_the_cpu(monkeypatch):
    monkeypatch.setattr(_dispatch, "resolve_backend", lambda backend: backend)
    import cimtwin.grid  # noqa: F401  (declares the CPU hydrology kernels)

    select("fill_depressions", "cpu")
    with pytest.raises(BackendUnavailableError, match="no CUDA kernel.*Priority-Flood.*backend='cpu'"):
        select("fill_depressions", "cuda")


def test_cuda_kernels_import_without_geopandas():
    # the device image has no geopandas: the kernel packages must not need it
    code = ("import sys; sys.modules['geopandas'] = None; sys.modules['shapely'] = None; "
            "import cimtwin.kernels.cuda.hydro, cimtwin.kernels.cuda.pipeline")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
