"""A model, not a timing: fill + D8 + accumulation on P threads, from one thread's task times.

Runs the tiled chain of ``bench_hydro_dask.py`` once on one thread (after a warm-up run) and
records every dask task's time and the client's serial time between computes. The time on P
threads is then modelled as: the client's serial time, plus, for each compute, its tasks
packed onto P threads longest first, plus dask's own time inside that compute. It assumes
threads that scale perfectly (no shared memory bandwidth, no hyper-threads), so it bounds
what P cores can give and shows where the serial time goes; only a run on P cores measures it
(``bench_hydro_dask.py --threads 2 16``).

    python benchmarks/model_hydro_threads.py --size 1e8 --chunk 1250 --threads 2 16
"""

from __future__ import annotations

import argparse
import heapq
import os
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_hydro_dask import chain, dem_array, to_dataarray  # noqa: E402


def packed(times, p: int) -> float:
    """Finish time of ``times`` on ``p`` threads, longest first to the least loaded thread."""
    load = [0.0] * p
    for t in sorted(times, reverse=True):
        heapq.heappush(load, heapq.heappop(load) + t)
    return max(load)


def record(dem) -> tuple[float, list[dict]]:
    """(wall, computes) of one single-threaded chain: each compute's serial gap before it,
    its task times, its own wall time and the cimtwin call that asked for it."""
    import dask
    from dask.callbacks import Callback

    computes: list[dict] = []
    lock = threading.Lock()
    started: dict = {}
    last = [0.0]

    class Recorder(Callback):
        def _start(self, dsk):
            now = time.perf_counter()
            where = [f"{f.name}:{f.lineno}" for f in traceback.extract_stack()
                     if "cimtwin" in f.filename or "bench_hydro_dask" in f.filename][-1:]
            computes.append({"gap": now - last[0], "t0": now, "tasks": [], "where": where})

        def _pretask(self, key, dsk, state):
            with lock:
                started[key] = time.perf_counter()

        def _posttask(self, key, result, dsk, state, worker_id):
            with lock:
                computes[-1]["tasks"].append(time.perf_counter() - started.pop(key))

        def _finish(self, dsk, state, errored):
            computes[-1]["t1"] = last[0] = time.perf_counter()

    with dask.config.set(scheduler="threads", num_workers=1), Recorder():
        chain(dem)
        computes.clear()
        last[0] = t0 = time.perf_counter()
        chain(dem)
        wall = time.perf_counter() - t0
    computes[-1]["tail"] = wall - (computes[-1]["t1"] - t0)
    return wall, computes


def model(computes: list[dict], p: int) -> float:
    serial = sum(c["gap"] for c in computes) + computes[-1]["tail"]
    return serial + sum(packed(c["tasks"], p) + (c["t1"] - c["t0"] - sum(c["tasks"])) for c in computes)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=lambda s: int(float(s)), default=10**8)
    p.add_argument("--chunk", type=int, default=1250)
    p.add_argument("--threads", nargs="+", type=int, default=[2, 16])
    a = p.parse_args(argv)
    from cimtwin.grid import balanced_chunks

    side = int(round(a.size ** 0.5))
    dem = to_dataarray(dem_array(side, 4096).compute(), side)
    chunks = balanced_chunks(dem.shape, a.chunk)
    wall, computes = record(dem.chunk(dict(zip(dem.dims, chunks))))
    serial = sum(c["gap"] for c in computes) + computes[-1]["tail"]
    print(f"synthetic DEM {side}x{side}, {len(chunks[0])}x{len(chunks[1])} tiles; one thread: {wall:.2f} s, "
          f"client serial {serial:.2f} s, {len(computes)} computes")
    for c in computes:
        print(f"  serial before {c['gap']:.3f} s | {len(c['tasks'])} tasks, {sum(c['tasks']):.2f} s, longest "
              f"{max(c['tasks'] or [0]):.3f} s | {' '.join(c['where'])}")
    times = {t: model(computes, t) for t in a.threads}
    for t, m in times.items():
        print(f"model, {t} threads: {m:.2f} s")
    if len(a.threads) > 1:
        lo, hi = a.threads[0], a.threads[-1]
        print(f"modelled speed-up from {lo} to {hi} threads: {times[lo] / times[hi]:.2f}x (a bound, not a timing)")


if __name__ == "__main__":
    main()
