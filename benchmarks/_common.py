"""Shared helpers for the benchmark scripts: timing, context, and the results file.

Every script times cimtwin and its anchor in the same run, at the same size, and writes
``benchmarks/results/<script>.json``; ``benchmarks/make_results.py`` renders those files
into ``benchmarks/RESULTS.md``. Nobody types a figure.

* ``measure(fn, repeat, warmup=1)``: untimed warm-up calls, then ``repeat`` timed calls ->
  ``{"median_s", "min_s", "max_s", "runs"}``.
* ``Results(__file__, anchors=[...])``: records the command, machine, library versions and the
  load average when created; ``add(...)`` appends one row (ratio and goal computed here);
  ``write()`` records the load after, prints the table and writes the JSON.
* ``parse_args``: the standard ``--sizes``, ``--repeat``, ``--quick`` and ``--out`` options.

A script run as ``python benchmarks/bench_x.py`` has ``benchmarks/`` on ``sys.path`` and
imports this module as ``from _common import ...``.

Examples
--------
>>> from _common import Results, measure
>>> res = Results("bench_demo.py", anchors=[], argv=["--sizes", "1e3"])  # doctest: +SKIP
>>> t = measure(lambda: sum(range(1000)), repeat=3)
>>> sorted(t)
['max_s', 'median_s', 'min_s', 'runs']
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["measure", "fresh_models", "Results", "machine", "cpu_model", "versions", "load_average", "parse_args",
           "size_label", "warm_memory", "timeit", "report", "RESULTS_DIR"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# the repository root on sys.path, so the scripts run without installing cimtwin
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(1, _ROOT)


# ----------------------------------------------------------------------------- timing

def fresh_models(model, layer: str, count: int) -> Iterable:
    """``count`` copies of ``model``, prepared before the clock, each without shared results.

    A model keeps what its analyses derive (camera viewsheds, radio fields) for later calls,
    so timing the same model twice would time the cache. Each timed call takes the next copy.
    """
    copies = [model.with_layer(layer, model.layer(layer)) for _ in range(count)]

    def take():
        while copies:
            yield copies.pop()  # a used copy (and what it derived) is let go

    return take()


def measure(fn: Callable[[], object], repeat: int = 3, *, warmup: int = 1) -> dict:
    """Time ``repeat`` calls of ``fn()`` after ``warmup`` untimed calls.

    Returns ``{"median_s", "min_s", "max_s", "runs"}``. Each result is dropped (and garbage
    collected) before the next call, so memory does not pile up and a collection does not
    land inside a timing.
    """
    for _ in range(max(0, int(warmup))):
        result = fn()
        del result
    times = []
    for _ in range(max(1, int(repeat))):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        del result
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": len(times)}


def timeit(fn: Callable[[], object], repeat: int = 3, *, warmup: int = 0) -> float:
    """Median seconds of ``repeat`` calls (older scripts; new ones use :func:`measure`)."""
    return measure(fn, repeat, warmup=warmup)["median_s"]


def warm_memory(gigabytes: float = 2.0) -> None:
    """Touch and free ``gigabytes`` of memory once, before timing.

    On a fresh VM the first touch of a page is slow (the host backs it lazily); warming once
    keeps that one-off cost out of whichever timing happens to run first.
    """
    import numpy as np

    block = np.ones(int(gigabytes * 2**30) // 8, dtype=np.float64)
    del block


# ----------------------------------------------------------------------------- context

def cpu_model() -> str:
    """CPU model string from /proc/cpuinfo (or the platform's best guess)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """``'<n> cores, <CPU model>, <RAM> GB RAM, Python x.y.z'``."""
    ram = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        ram = f", {kb / 1024**2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu_model()}{ram}, Python {platform.python_version()}"


def versions(anchors: Iterable[str] = ()) -> dict:
    """Installed versions of cimtwin, numpy, numba and the named anchor distributions."""
    out = {}
    for name in ("cimtwin", "numpy", "numba", *anchors):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages, rounded to 0.01."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return [None, None, None]


def size_label(n: int | float) -> str:
    """1e6 -> '1e6' (exact powers of ten), else the integer as a string."""
    n = int(n)
    exp = len(str(n)) - 1
    return f"1e{exp}" if n == 10**exp else str(n)


def _size_value(n):
    """Sizes are stored as numbers when they are numbers, else as the given string."""
    if isinstance(n, (int, float)) and not isinstance(n, bool):
        return int(n) if float(n).is_integer() else float(n)
    return str(n)


# ----------------------------------------------------------------------------- results

def _portable(argv: Sequence[str]) -> list[str]:
    """The arguments as anyone may rerun them: no ``--out`` (where results went), and no
    absolute path of the machine that ran them (shown as ``DIR``)."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out":
            skip = True
        elif not a.startswith("--out="):
            out.append("DIR" if os.path.isabs(a) else a)
    return out


class Results:
    """One script's results: context at start, rows, and the JSON writer.

    Parameters
    ----------
    script : str
        ``__file__`` of the script (only its file name is kept).
    anchors : sequence of str
        Distribution names of the anchor libraries whose versions are recorded.
    argv : sequence of str, optional
        The script's arguments (default ``sys.argv[1:]``), recorded as the command.
    out : str or Path, optional
        Folder for the JSON (default ``benchmarks/results``).

    Examples
    --------
    >>> res = Results("bench_demo.py", anchors=["scipy"], argv=[])  # doctest: +SKIP
    >>> res.add("op", 1000, measure(lambda: None), anchor="scipy", anchor_t=measure(lambda: None))  # doctest: +SKIP
    >>> res.write()  # doctest: +SKIP
    """

    def __init__(self, script: str, anchors: Sequence[str] = (), *, argv: Sequence[str] | None = None,
                 out: str | Path | None = None):
        self.script = Path(script).name
        argv = list(sys.argv[1:] if argv is None else argv)
        self.command = shlex.join(["python", f"benchmarks/{self.script}", *_portable(argv)])
        self.out = Path(out) if out is not None else RESULTS_DIR
        self.meta = {
            "script": self.script,
            "command": self.command,
            "machine": machine(),
            "versions": versions(anchors),
            "load_before": load_average(),
            "load_after": None,
            "date": None,
        }
        self.rows: list[dict] = []
        self.started = time.perf_counter()
        try:
            import numba

            self.meta["numba_threads"] = numba.get_num_threads()
        except ImportError:
            pass
        print(f"{self.script}: {self.meta['machine']}", flush=True)
        print(f"versions: {self.meta['versions']}", flush=True)
        print(f"load average before: {self.meta['load_before']}", flush=True)

    def add(self, op: str, size, ours: dict, *, anchor: str | None = None, anchor_t: dict | None = None,
            goal: str | None = None, goal_ratio: float | None = None, goal_s: float | None = None,
            note: str = "", judged: bool = True, **extra) -> dict:
        """Append one row; ``ratio`` = anchor median / ours median, ``met`` from the medians.

        A goal is met only when the median meets it: ``ratio >= goal_ratio`` and/or
        ``ours median <= goal_s``. A ratio goal without an anchor time is ``met = None``
        (not measured), and so is any goal with ``judged=False`` (measured at another size than
        the one the goal is stated at). Extra keyword arguments become extra keys of the row.
        """
        ratio = None
        if anchor_t is not None and ours and ours.get("median_s"):
            ratio = anchor_t["median_s"] / ours["median_s"]
        met = None
        if goal_ratio is not None or goal_s is not None:
            checks = []
            if goal_ratio is not None:
                checks.append(None if ratio is None else ratio >= goal_ratio)
            if goal_s is not None:
                checks.append(ours["median_s"] <= goal_s)
            met = None if None in checks or not judged else all(checks)
        row = {"op": op, "size": _size_value(size), "ours": _timing(ours), "anchor": anchor,
               "anchor_t": _timing(anchor_t), "ratio": ratio, "goal": goal, "goal_ratio": goal_ratio,
               "goal_s": goal_s, "met": met, "note": note}
        for k, v in extra.items():
            row[k] = v
        self.rows.append(row)
        _print_row(row)
        return row

    def write(self) -> Path:
        """Record the load after and the date, print the table, write ``<out>/<script>.json``."""
        self.meta["load_after"] = load_average()
        self.meta["date"] = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        self.meta["wall_s"] = round(time.perf_counter() - self.started, 1)
        print(f"load average after: {self.meta['load_after']}", flush=True)
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / (Path(self.script).stem + ".json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({**self.meta, "rows": self.rows}, fh, indent=1, ensure_ascii=False, default=_json_default)
            fh.write("\n")
        print(f"wrote {path}", flush=True)
        return path


def _timing(t: dict | None) -> dict | None:
    if t is None:
        return None
    return {k: (float(v) if k.endswith("_s") else v) for k, v in t.items()}


def _json_default(v):
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot store {type(v).__name__} in the results JSON")


def _fmt_s(t: dict | None) -> str:
    if not t:
        return "-"
    return f"{t['median_s']:.4g} s [{t['min_s']:.4g}-{t['max_s']:.4g}]"


def _print_row(row: dict) -> None:
    parts = [f"{row['op']} @ {row['size']}: ours {_fmt_s(row['ours'])}"]
    if row["anchor"]:
        parts.append(f"{row['anchor']} {_fmt_s(row['anchor_t'])}")
    if row["ratio"] is not None:
        parts.append(f"ratio {row['ratio']:.3g}")
    if row["goal"]:
        parts.append(f"goal {row['goal']}: {row['met']}")
    if row["note"]:
        parts.append(row["note"])
    print(" | ".join(parts), flush=True)


# ----------------------------------------------------------------------------- options

def parse_args(description: str, default_sizes: Sequence[int], default_repeat: int = 3,
               argv: Sequence[str] | None = None, *, quick_sizes: Sequence[int] = (10**6,),
               parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Standard ``--sizes``, ``--repeat``, ``--quick`` and ``--out`` options.

    ``--quick`` runs ``quick_sizes`` and writes into ``results/quick/`` (not rendered into
    RESULTS.md) unless ``--out`` is given.
    """
    p = parser or argparse.ArgumentParser(description=description)
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=None,
                   help=f"sizes (default: {' '.join(size_label(s) for s in default_sizes)})")
    p.add_argument("--repeat", type=int, default=default_repeat,
                   help="timed repeats per size, after one warm-up call (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help=f"small sizes ({' '.join(size_label(s) for s in quick_sizes)}), results to results/quick/")
    p.add_argument("--out", default=None, help="folder for the results JSON (default: benchmarks/results)")
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = list(quick_sizes if args.quick else default_sizes)
    if args.out is None and args.quick:
        args.out = str(RESULTS_DIR / "quick")
    return args


def report(rows: Iterable[dict], *, ours: str = "cimtwin_s", anchor: str = "anchor_s") -> str:
    """Print (and return) a markdown table of ``rows`` (older scripts); adds ``speedup``."""
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


def goal_applies(n: int, sizes: Sequence[int], stated: int, *, time_goal: bool = False) -> tuple[bool, str]:
    """Whether size ``n`` carries the goal stated at ``stated`` cells, and a note if smaller.

    The goal is judged at the stated size. When a run stops short of it, the largest size run
    carries a ratio goal with a note saying so (nothing is extrapolated to the stated size); a
    time goal is then shown as not measured (a smaller size would meet it trivially): pass
    ``judged=False`` to ``Results.add`` in that case (see the returned note).
    """
    if n == stated or (n == max(sizes) and max(sizes) < stated):
        if n >= stated:
            return True, ""
        if time_goal:
            return True, f"goal stated at {size_label(stated)}, not run at that size: not judged"
        return True, f"goal stated at {size_label(stated)}; judged at the largest size run here"
    return False, ""
