"""Run a file of CUDA cases in a fresh interpreter under the CUDA simulator.

The simulator must be on before numba.cuda is first imported, which the suite's own process
has already done; so the cases run in a subprocess with ``NUMBA_ENABLE_CUDASIM=1``.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assert_cases_pass_under_cudasim(cases: Path, *, timeout: int) -> None:
    """Run ``cases`` with pytest under the simulator; every case must pass, none skip."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(ROOT), CIMTWIN_PROGRESS="0")
    env.pop("PYTEST_XDIST_WORKER", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(cases)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout.splitlines()[-1], proc.stdout[-2000:]
