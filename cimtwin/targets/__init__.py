"""The plans' targets: a catalogue (data) and their evaluation on a city model.

>>> from cimtwin.targets import load_catalog
>>> len(load_catalog()) >= 20
True
"""

from __future__ import annotations

from cimtwin.targets.catalog import load_catalog, parse_computation
from cimtwin.targets.evaluate import TargetRun, evaluate, run_targets

__all__ = ["load_catalog", "parse_computation", "evaluate", "run_targets", "TargetRun"]
