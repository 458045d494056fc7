"""Tiled hydrology on dask: fill + D8 + accumulation, dask vs in memory, thread scaling.

Rows (medians of ``--repeat`` runs, same synthetic DEM, same run):

* ``chain in memory``: ``fill_depressions`` -> ``flow_direction_d8`` -> ``flow_accumulation`` on
  a numpy-backed DataArray (the anchor of the dask rows);
* ``chain dask threads=N``: the same calls on the DEM in near-equal tiles of at most
  ``--chunk`` cells a side (``cimtwin.grid.balanced_chunks``; ``--plain-chunks`` for
  ``dem.chunk(--chunk)`` with its thin remainder tiles), each stage persisted, with the
  threaded scheduler and N workers; the result is checked equal to the in-memory one;
* ``parallel capacity``: a pure nogil numba loop on N threads vs 1 thread, the speed-up this
  machine gives two threads right now (on a shared VM it can be far below N; read the
  thread-scaling goal against it);
* ``--cluster``: the chain at ``--cluster-size`` cells (default 4e8) on a LocalCluster of 2
  workers x 3 GiB, each stage written to ``--workdir`` as uncompressed tiles (one ``.npy``
  file per chunk, written by the workers in parallel, no lock) and read back from there;
  peak RSS per worker reported;
* ``--on-disk``: a ``--disk-size`` (default 1e9) float32 DEM generated tile by tile into an
  uncompressed tiled GeoTIFF, then the chain from that file, stages on disk as above, on a
  LocalCluster; needs about 13 bytes a cell, x1.5 margin (~20 GB at 1e9), free in
  ``--workdir``: checked before anything runs.

The DEM is synthetic: smooth sinusoidal relief plus 0.3 m of noise, float32, seeded per tile
(labelled ``synthetic`` in the results). Large modes must be run alone on the machine.

Usage::

    python benchmarks/bench_hydro_dask.py --sizes 1e7 --threads 1 2 --chunk 1024 --repeat 3
    python benchmarks/bench_hydro_dask.py --sizes 1e8 --threads 2 16 --chunk 1250 --repeat 3  # 16 cores: 8 x 8 tiles
    python benchmarks/bench_hydro_dask.py --sizes 1e8 --threads 2 --cluster --workdir /big/scratch
    python benchmarks/bench_hydro_dask.py --sizes 1e8 --threads 2 --on-disk --workdir /big/scratch
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import Results, measure, parse_args, size_label  # noqa: E402


def dem_block(r0: int, c0: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Synthetic DEM cells [r0:r0+h, c0:c0+w]: smooth relief (valleys, basins) plus noise."""
    r = (r0 + np.arange(h, dtype=np.float64))[:, None]
    c = (c0 + np.arange(w, dtype=np.float64))[None, :]
    z = (40 * np.sin(r / 700.0) * np.cos(c / 900.0) + 15 * np.sin((r + 2 * c) / 230.0)
         + 5 * np.cos((3 * r - c) / 57.0) + 0.002 * (r + c))
    rng = np.random.default_rng([seed, r0, c0])
    return (z + rng.normal(scale=0.3, size=(h, w))).astype(np.float32)


def dem_array(side: int, chunk: int):
    import dask.array as da

    def block(block_info=None):
        loc = block_info[None]["array-location"]
        (r0, r1), (c0, c1) = loc
        return dem_block(r0, c0, r1 - r0, c1 - c0)

    return da.map_blocks(block, chunks=da.core.normalize_chunks(chunk, (side, side), dtype=np.float32),
                         dtype=np.float32)


def to_dataarray(data, side: int):
    from cimtwin.grid import GridSpec

    spec = GridSpec.from_bounds((0, 0, side * 10.0, side * 10.0), res_m=10.0, crs="EPSG:32650")
    import xarray as xr

    out = xr.DataArray(data, dims=("y", "x"), coords={"y": spec.y, "x": spec.x}, name="dem",
                       attrs={"crs": "EPSG:32650", "res_m": 10.0, "source": "synthetic"})
    return out


def _write_tile(block, folder, block_info=None):
    i, j = block_info[0]["chunk-location"]
    np.save(os.path.join(folder, f"{i}_{j}.npy"), block)
    return np.zeros((1, 1), np.int8)


def store_tiles(x, folder: str):
    """Write the DataArray ``x`` as one uncompressed ``.npy`` per chunk and open it again lazily.

    Each worker writes its own tiles (no lock, no compression: a stage costs a plain write and
    read of its bytes), and each task of the next stage reads exactly its tile back.
    """
    import dask
    import dask.array as da

    os.makedirs(folder, exist_ok=True)
    data = x.data
    nr, nc = (len(c) for c in data.chunks)
    data.map_blocks(_write_tile, folder, chunks=((1,) * nr, (1,) * nc), dtype=np.int8).compute()
    load = dask.delayed(np.load, pure=True)
    back = da.block([[da.from_delayed(load(os.path.join(folder, f"{i}_{j}.npy")), (h, w), dtype=data.dtype)
                      for j, w in enumerate(data.chunks[1])] for i, h in enumerate(data.chunks[0])])
    return x.copy(data=back)


def chain(dem, *, persist: bool = True, workdir: str | None = None):
    """fill -> D8 -> accumulation; each stage persisted (memory) or stored as tiles (disk).

    In memory the accumulation's tiles stay dask chunks, as the fill's and the D8's do (a dask
    workflow stores tiles on; gathering 1e8 counts into one array is a single thread's copy,
    1.2 s on this machine). Returns ``(filled, d8, acc)``, for the equality checks.
    """
    from cimtwin.grid import fill_depressions, flow_accumulation, flow_direction_d8

    def stage(x, name):
        if workdir is not None:
            return store_tiles(x, os.path.join(workdir, name))
        return x.persist() if persist and x.chunks is not None else x

    filled = stage(fill_depressions(dem), "filled")
    d8 = stage(flow_direction_d8(filled, conditioned=True), "d8")
    acc = flow_accumulation(filled, conditioned=True, d8=d8)
    return filled, d8, stage(acc, "acc")


def same_stages(got, expected) -> bool:
    """Fill heights, D8 codes and accumulation counts equal cell for cell (read stage by stage);
    a stage that differs is printed with its count of differing cells."""
    same = True
    for name, g, e in zip(("fill", "D8", "counts"), got, expected):
        g, e = np.asarray(g.values), np.asarray(e.values)
        if g.shape != e.shape:
            print(f"{name}: shape {g.shape} != {e.shape}", flush=True)
            same = False
        elif not np.array_equal(g, e):
            print(f"{name}: {int(np.count_nonzero(g != e))} cells differ", flush=True)
            same = False
    return same


def parallel_capacity(threads: int, repeat: int) -> tuple[dict, dict]:
    """(1 thread, ``threads`` threads) timings of the same nogil numba work split in 8 parts."""
    import numba

    @numba.njit(nogil=True)
    def spin(n):
        x = 0.0
        for i in range(n):
            x = x * 0.999999 + (i & 7)
        return x

    spin(10)

    def run(t):
        with ThreadPoolExecutor(t) as ex:
            return sum(ex.map(spin, [40_000_000] * 8))

    return measure(lambda: run(1), repeat), measure(lambda: run(threads), repeat)


def tiling(shape, chunk: int, plain: bool):
    """(chunks, label) of the dask runs: near-equal tiles of at most ``chunk`` a side, or plain."""
    from cimtwin.grid import balanced_chunks

    if plain:
        import dask.array as da

        return da.core.normalize_chunks(chunk, shape), f"chunk={chunk}"
    chunks = balanced_chunks(shape, chunk)
    return chunks, f"chunk<={chunk} balanced ({len(chunks[0])}x{len(chunks[1])} tiles of {chunks[0][0]})"


# the thread-scaling goals: (first thread count, thread count) -> speed-up to reach
SCALING_GOALS = {(1, 2): 1.7, (2, 16): 6.0}


def run_memory_and_threads(res: Results, sizes, threads, chunk, repeat, plain=False):
    import dask

    mem_by_size = {}
    for n in sizes:
        side = int(round(n ** 0.5))
        dem_np = to_dataarray(dem_array(side, 4096).compute(), side)
        expected = chain(dem_np)
        mem = measure(lambda: chain(dem_np), repeat)
        mem_by_size[side * side] = mem
        res.add("fill+d8+acc in memory", side * side, mem, note="synthetic DEM; numba threads as configured")
        base = None
        chunks, label = tiling(dem_np.shape, chunk, plain)
        tiled = dict(zip(dem_np.dims, chunks))
        # chunked once, untimed: xarray hashes the whole array when it chunks it
        dem_dask = dem_np.chunk(tiled)
        for t in threads:
            with dask.config.set(scheduler="threads", num_workers=t):
                assert same_stages(chain(dem_dask), expected), "dask result differs from memory"
                t_dask = measure(lambda: chain(dem_dask), repeat)
            base = base or t_dask
            scaling = t > threads[0]
            goal = SCALING_GOALS.get((threads[0], t))
            res.add(f"fill+d8+acc dask threads={t} {label}", side * side, t_dask,
                    anchor=f"dask threads={threads[0]}" if scaling else "cimtwin in memory",
                    anchor_t=base if scaling else mem,
                    goal=f">= {goal}x from {threads[0]} to {t} threads" if goal else None,
                    goal_ratio=goal,
                    vs_memory=mem["median_s"] / t_dask["median_s"],
                    note=f"throughput vs in memory: {mem['median_s'] / t_dask['median_s']:.2f}x; "
                         "fill, D8 and counts equal to memory: yes")
        del expected
    if len(threads) > 1:
        one, many = parallel_capacity(max(threads), repeat)
        res.add(f"parallel capacity: nogil numba loop, {max(threads)} threads", "-", many,
                anchor="same loop, 1 thread", anchor_t=one,
                note="the thread speed-up this machine offers now (upper bound for the rows above)")
    return mem_by_size


def _peak_rss() -> int:
    """Peak resident memory of this (worker) process so far, bytes: Linux's ``VmHWM``.

    Not ``ru_maxrss``: a worker is spawned by fork + exec, and ``ru_maxrss`` carries over the
    parent's peak across both (a parent that held the 1e8 in-memory run made every worker
    look 4 GiB large); ``VmHWM`` belongs to the process's own address space.
    """
    with open("/proc/self/status") as fh:
        kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    return kib * 1024


class TotalRss:
    """Peak summed RSS of this process and all its children (scheduler, nannies, workers).

    Sampled every 0.2 s on a thread while the ``with`` block runs: the job's whole memory
    footprint, which the per-worker ``VmHWM`` figures do not add up to.
    """

    def __enter__(self):
        import threading

        import psutil

        self.peak = 0
        self._stop = threading.Event()
        me = psutil.Process()

        def sample():
            while not self._stop.is_set():
                total = 0
                for p in [me, *me.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:  # a child that just exited
                        pass
                self.peak = max(self.peak, total)
                self._stop.wait(0.2)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def check_disk(n: int, workdir: str, on_disk: bool) -> None:
    """Stop before any work when ``workdir`` lacks the space for the stages (and the DEM)."""
    side = int(round(n ** 0.5))
    # filled float32 + D8 uint8 + counts uint32 (+ the float32 DEM file on disk), x1.5 margin
    need = side * side * ((4 if on_disk else 0) + 4 + 1 + 4) * 1.5
    os.makedirs(workdir, exist_ok=True)
    free = shutil.disk_usage(workdir).free
    mode = "--on-disk" if on_disk else "--cluster"
    if free < need:
        raise SystemExit(f"{mode} at {n:.0e} cells needs ~{need / 1e9:.0f} GB free in {workdir}; only "
                         f"{free / 1e9:.0f} GB free there. Pass --workdir on a larger disk.")
    print(f"{mode}: ~{need / 1e9:.0f} GB needed in {workdir}, {free / 1e9:.0f} GB free", flush=True)


def cluster_input(dem, chunks, workdir: str, on_disk: bool):
    """``dem`` (lazy) as it is, or written to an uncompressed tiled GeoTIFF in ``workdir`` and
    read back from there lazily, one window a chunk."""
    if not on_disk:
        return dem
    import rioxarray

    src = os.path.join(workdir, "dem.tif")
    dem.rio.write_crs("EPSG:32650", inplace=True)
    dem.rio.to_raster(src, tiled=True, lock=True, compute=True)
    return rioxarray.open_rasterio(src, chunks={"band": 1, "y": chunks[0], "x": chunks[1]},
                                   lock=False).squeeze("band", drop=True)


def run_cluster(n: int, chunk: int, workdir: str, on_disk: bool, verify_n: int | None = None):
    """Time the chain at ``n`` cells on a LocalCluster; then, untimed, cut a ``verify_n``-cell
    crop from the same input, run it through the same path (GeoTIFF in, tiles out) and check
    its stages against the in-memory chain on that crop."""
    from dask.distributed import Client, LocalCluster

    from cimtwin.grid import balanced_chunks

    side = int(round(n ** 0.5))
    check_disk(n, workdir, on_disk)
    chunks = balanced_chunks((side, side), chunk)
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="3GiB") as cluster, Client(cluster) as client:
        lazy = cluster_input(to_dataarray(dem_array(side, chunks), side), chunks, workdir, on_disk)
        # the workers import cimtwin and load the compiled kernels once, outside the timing
        chain(to_dataarray(dem_array(64, 24), 64), workdir=os.path.join(workdir, "warmup"))
        with TotalRss() as total:
            t0 = time.perf_counter()
            chain(lazy, workdir=workdir)
            elapsed = time.perf_counter() - t0
        peaks = client.run(_peak_rss)
        got = None
        if verify_n:
            vside = min(side, int(round(verify_n ** 0.5)))
            vchunks = balanced_chunks((vside, vside), chunk)
            crop = lazy.isel(y=slice(0, vside), x=slice(0, vside)).chunk(dict(zip(lazy.dims, vchunks)))
            crop_np = to_dataarray(np.asarray(crop.values), vside)
            vdir = os.path.join(workdir, "verify")
            os.makedirs(vdir, exist_ok=True)
            got = chain(cluster_input(to_dataarray(crop.data, vside), vchunks, vdir, on_disk), workdir=vdir)
    equal = None
    if got is not None:
        equal = same_stages(got, chain(crop_np))
        print(f"a {size_label(vside * vside)}-cell crop of the input, through the same path, equals the in-memory "
              f"chain: {equal}", flush=True)
    return side * side, elapsed, sorted(peaks.values()), total.peak, equal


def add_cluster_row(res: Results, n, elapsed, peaks, total_peak, equal, on_disk: bool, mem_by_size: dict):
    t = {"median_s": elapsed, "min_s": elapsed, "max_s": elapsed, "runs": [elapsed]}
    ref = max(mem_by_size) if mem_by_size else None
    ratio_note = ""
    extra = {}
    if ref is not None:
        thr = (n / elapsed) / (ref / mem_by_size[ref]["median_s"])
        extra["throughput_vs_memory"] = thr
        ratio_note = f"; throughput {thr:.2f}x the in-memory path at {size_label(ref)} (same run)"
    if equal is not None:
        ratio_note += (f"; a {size_label(ref)}-cell crop of the input through the same path equals the "
                       f"in-memory fill, D8 and counts: {'yes' if equal else 'NO'}")
        extra["equal_at_reference"] = equal
    row = res.add(f"fill+d8+acc LocalCluster 2x3GiB {'disk->disk' if on_disk else 'generated->disk'}, stages as "
                  "uncompressed .npy tiles", n, t,
                  goal="<= 30 min, <= 8 GB" if on_disk else "workers within 3 GiB, throughput >= 0.5x in memory",
                  goal_s=1800.0 if on_disk else None,
                  note=f"peak worker RSS (GiB): {[round(p / 2**30, 2) for p in peaks]}; peak total RSS "
                       f"(main + scheduler + workers, sampled) {total_peak / 1e9:.2f} GB{ratio_note}",
                  peak_total_rss=total_peak, peak_worker_rss=peaks, **extra)
    # the memory half of each goal, and the throughput goal, are judged here from the same run
    if on_disk:
        # judged on the larger of the sampled total and the workers' own peaks added up (a
        # 0.2 s sampler can miss a worker's short peak; VmHWM cannot)
        row["met"] = bool(elapsed <= 1800.0 and max(total_peak, sum(peaks)) <= 8e9 and equal is not False)
    else:
        thr = extra.get("throughput_vs_memory")
        row["met"] = None if thr is None else bool(thr >= 0.5 and max(peaks) <= 3 * 2**30 and equal is not False)
    print(f"goal verdict: {row['met']}", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--chunk", type=int, default=1024, help="largest tile side (tiles are near-equal)")
    p.add_argument("--plain-chunks", action="store_true",
                   help="dem.chunk(--chunk) as is, thin remainder tiles included (the earlier layout)")
    p.add_argument("--cluster", action="store_true", help="--cluster-size cells on a LocalCluster of 2 workers x 3 GiB")
    p.add_argument("--cluster-size", type=lambda s: int(float(s)), default=4 * 10**8)
    p.add_argument("--on-disk", action="store_true", help="--disk-size cells from a GeoTIFF on disk")
    p.add_argument("--disk-size", type=lambda s: int(float(s)), default=10**9)
    p.add_argument("--workdir", default=None)
    a = parse_args(__doc__.splitlines()[0], [10**6], argv=argv, parser=p)
    if (a.cluster or a.on_disk) and not a.workdir:
        raise SystemExit("--cluster / --on-disk need --workdir (a folder with free space)")
    if a.cluster:
        check_disk(a.cluster_size, a.workdir, False)
    if a.on_disk:
        check_disk(a.disk_size, a.workdir, True)
    res = Results(__file__, anchors=["dask", "xarray"], argv=argv, out=a.out)
    mem_by_size = (run_memory_and_threads(res, a.sizes, a.threads, a.chunk, a.repeat, a.plain_chunks)
                   if a.sizes else {})
    if a.cluster or a.on_disk:
        ref = max(mem_by_size) if mem_by_size else None
        if a.cluster:
            add_cluster_row(res, *run_cluster(a.cluster_size, 2048, a.workdir, False, ref), False, mem_by_size)
        if a.on_disk:
            add_cluster_row(res, *run_cluster(a.disk_size, 2048, a.workdir, True, ref), True, mem_by_size)
    res.write()


if __name__ == "__main__":
    main()
