"""CUDA backend: the numba.cuda kernels against the CPU kernels, under the CUDA simulator.

The simulator must be enabled before numba.cuda is first imported, which this process (shared
with the rest of the suite) has already done; the cases in ``cudasim_cases.py`` therefore run
in a fresh interpreter with ``NUMBA_ENABLE_CUDASIM=1``. In this process we check backend
selection without a GPU.
"""


import numpy as np
import pytest

from cimtwin.errors import BackendUnavailableError
from cimtwin.grid import distance
from cimtwin.kernels._dispatch import cuda_available

from tests._cudasim import ROOT, assert_cases_pass_under_cudasim


@pytest.mark.slow
def test_cuda_kernels_match_cpu_under_simulator():
    assert_cases_pass_under_cudasim(ROOT / "tests" / "grid" / "cudasim_cases.py", timeout=900)


def test_auto_falls_back_to_cpu_and_records_it():
    if cuda_available():
        pytest.skip("a CUDA device (or the simulator) is present in this process")
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    from cimtwin.grid import GridSpec

    da = GridSpec.from_bounds((0, 0, 50, 50), res_m=10, crs="EPSG:4547").to_dataarray(mask)
    assert distance(da, backend="auto").attrs["backend"] == "cpu"


def test_explicit_cuda_without_gpu_is_a_clear_error():
    if cuda_available():
        pytest.skip("a CUDA device (or the simulator) is present in this process")
    with pytest.raises(BackendUnavailableError, match="backend='cpu'"):
        distance(np.eye(3, dtype=bool), res_m=1.0, backend="cuda")
