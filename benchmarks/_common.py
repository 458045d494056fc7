"""Shared timing helpers for the benchmark scripts.

Small on purpose: ``timeit`` (median wall-clock seconds of repeated calls), ``machine``
(a one-line description of the host) and ``report`` (a table with the speed-up ratios).

A script run as ``python benchmarks/bench_x.py`` has ``benchmarks/`` on ``sys.path``, so it
imports this module as ``from _common import timeit, machine, report, parse_args``.

Examples
--------
>>> from _common import timeit, report
>>> t = timeit(lambda: sum(range(1000)), repeat=3)
>>> report([{"op": "sum", "size": 1000, "cimtwin_s": t, "anchor_s": 2 * t}])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence

__all__ = ["timeit", "machine", "report", "parse_args", "size_label", "warm_memory"]


def timeit(fn: Callable[[], object], repeat: int = 3, *, warmup: int = 0) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn()`` (after ``warmup`` untimed calls).

    The result of each call is dropped before the next one, so memory does not pile up.
    """
    for _ in range(max(0, warmup)):
        fn()
    times = []
    for _ in range(max(1, int(repeat))):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return statistics.median(times)


def warm_memory(gigabytes: float = 2.0) -> None:
    """Touch and free ``gigabytes`` of memory once, before timing.

    On a fresh VM the first touch of a page is slow (the host backs it lazily): a 400 MB
    array can take seconds to fault in the first time and ~0.2 s afterwards. Warming once
    keeps that one-off cost out of whichever timing happens to run first.
    """
    import numpy as np

    block = np.ones(int(gigabytes * 2**30) // 8, dtype=np.float64)
    del block


def machine() -> str:
    """``'<nproc> cores, <CPU model>, <RAM> GB RAM, Python x.y'`` for the results table."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        ram = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores (nproc), {model}{ram}, Python {platform.python_version()}"


def size_label(n: int | float) -> str:
    """1e6 -> '1e6' (exact powers of ten), else the integer."""
    n = int(n)
    exp = len(str(n)) - 1
    return f"1e{exp}" if n == 10**exp else str(n)


def report(rows: Iterable[dict], *, ours: str = "cimtwin_s", anchor: str = "anchor_s") -> str:
    """Print (and return) a markdown table of ``rows``; adds ``speedup`` = anchor / ours.

    Each row is a dict; the keys of the first row set the columns. Times are in seconds.
    """
    rows = [dict(r) for r in rows]
    for r in rows:
        if ours in r and anchor in r and r[ours] and r[anchor]:
            r["speedup"] = r[anchor] / r[ours]
    if not rows:
        print("(no rows)")
        return ""
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def parse_args(description: str, default_sizes: Sequence[int], default_repeat: int = 3,
               argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Standard ``--sizes`` (cells, e.g. ``1e6 1e7``) and ``--repeat`` options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=list(default_sizes),
                   help="grid sizes in cells (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=default_repeat,
                   help="timed repeats per size; the median is reported (default: %(default)s)")
    return p.parse_args(argv)
