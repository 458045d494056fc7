"""The plans' targets: a catalogue (data) and their evaluation on a city model.

>>> from cimtwin.targets import load_catalog
>>> len(load_catalog()) >= 20
True
"""

from __future__ import annotations

from cimtwin.targets.catalog import load_catalog, parse_computation

__all__ = ["load_catalog", "parse_computation", "evaluate"]


def __getattr__(name: str):
    if name == "evaluate":
        from cimtwin.targets.evaluate import evaluate

        return evaluate
    raise AttributeError(f"module 'cimtwin.targets' has no attribute {name!r}")
