"""Tiled hydrology on dask: fill + D8 + accumulation, dask vs in memory, thread scaling.

Rows (medians of ``--repeat`` runs, same synthetic DEM, same run):

* ``chain in memory``: ``fill_depressions`` -> ``flow_direction_d8`` -> ``flow_accumulation`` on
  a numpy-backed DataArray (the anchor of the dask rows);
* ``chain dask threads=N``: the same calls on ``dem.chunk(--chunk)``, each stage persisted,
  with the threaded scheduler and N workers; the result is checked equal to the in-memory one;
* ``--cluster``: the chain at ``--cluster-size`` cells (default 4e8) on a LocalCluster of 2
  workers x 3 GiB, stages written to GeoTIFFs in ``--workdir`` (peak RSS per worker reported);
* ``--on-disk``: a ``--disk-size`` (default 1e9) float32 DEM generated tile by tile into a
  GeoTIFF, then the chain from disk to disk on a LocalCluster; needs ~20 GB free in
  ``--workdir`` (checked first).

The DEM is synthetic: smooth sinusoidal relief plus 0.3 m of noise, float32, seeded per tile
(labelled ``synthetic`` in the results). Large modes must be run alone on the machine.

Usage::

    python benchmarks/bench_hydro_dask.py --sizes 1e6 1e7 --threads 1 2
    python benchmarks/bench_hydro_dask.py --cluster --workdir /big/scratch
    python benchmarks/bench_hydro_dask.py --on-disk --workdir /big/scratch
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import machine, size_label  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "bench_hydro_dask.json")


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

    return da.map_blocks(block, chunks=da.core.normalize_chunks(chunk, (side, side)), dtype=np.float32)


def to_dataarray(data, side: int):
    from cimtwin.grid import GridSpec

    spec = GridSpec.from_bounds((0, 0, side * 10.0, side * 10.0), res_m=10.0, crs="EPSG:32650")
    import xarray as xr

    out = xr.DataArray(data, dims=("y", "x"), coords={"y": spec.y, "x": spec.x}, name="dem",
                       attrs={"crs": "EPSG:32650", "res_m": 10.0, "source": "synthetic"})
    return out


def chain(dem, *, persist: bool = True, workdir: str | None = None):
    """fill -> D8 -> accumulation; each stage persisted (memory) or written to GeoTIFF (disk)."""
    from cimtwin.grid import fill_depressions, flow_accumulation, flow_direction_d8

    def stage(x, name):
        if workdir is not None:
            import rioxarray

            path = os.path.join(workdir, f"{name}.tif")
            x.rio.write_crs("EPSG:32650", inplace=True)
            x.rio.to_raster(path, tiled=True, lock=True, compute=True, compress="deflate")
            back = rioxarray.open_rasterio(path, chunks=dict(zip(("band",) + x.dims, (1,) + tuple(
                c[0] for c in x.chunks)))).squeeze("band", drop=True)
            return back
        return x.persist() if persist and x.chunks is not None else x

    filled = stage(fill_depressions(dem), "filled")
    d8 = stage(flow_direction_d8(filled, conditioned=True), "d8")
    acc = flow_accumulation(filled, conditioned=True, d8=d8)
    return stage(acc, "acc") if workdir is not None else (acc.compute() if acc.chunks is not None else acc)


def timed(fn, repeat: int):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def versions() -> dict:
    import dask
    import numba
    import xarray

    import cimtwin

    return {"cimtwin": getattr(cimtwin, "__version__", "dev"), "numpy": np.__version__, "numba": numba.__version__,
            "dask": dask.__version__, "xarray": xarray.__version__}


def run_memory_and_threads(sizes, threads, chunk, repeat):
    import dask

    rows = []
    for n in sizes:
        side = int(round(n ** 0.5))
        dem_np = to_dataarray(dem_array(side, 4096).compute(), side)
        expected = chain(dem_np)
        chain(dem_np)  # warm-up
        mem = timed(lambda: chain(dem_np), repeat)
        rows.append({"op": "fill+d8+acc in memory", "size": size_label(side * side), "ours": mem,
                     "anchor": None, "anchor_t": None, "ratio": None, "goal": None, "note": "synthetic DEM"})
        base = None
        for t in threads:
            with dask.config.set(scheduler="threads", num_workers=t):
                lazy = dem_np.chunk({"y": chunk, "x": chunk})
                got = chain(lazy)
                assert np.array_equal(got.values, expected.values), "dask result differs from memory"
                res = timed(lambda: chain(dem_np.chunk({"y": chunk, "x": chunk})), repeat)
            base = base or res
            rows.append({"op": f"fill+d8+acc dask threads={t} chunk={chunk}", "size": size_label(side * side),
                         "ours": res, "anchor": "cimtwin in memory (1 process, numba threads)", "anchor_t": mem,
                         "ratio": mem["median_s"] / res["median_s"],
                         "goal": ">= 1.7x from 1 to 2 threads" if t == 2 else None,
                         "note": f"speed-up vs threads={threads[0]}: {base['median_s'] / res['median_s']:.2f}x; "
                                 "equal to memory: yes"})
            print(rows[-1], flush=True)
    return rows


def run_cluster(n: int, chunk: int, workdir: str, on_disk: bool):
    from dask.distributed import Client, LocalCluster

    side = int(round(n ** 0.5))
    need = side * side * (4 + 4 + 1 + 4) * 1.5
    free = shutil.disk_usage(workdir).free
    if free < need:
        raise SystemExit(f"needs ~{need / 1e9:.0f} GB free in {workdir}; {free / 1e9:.0f} GB free. "
                         "Pass --workdir on a larger disk.")
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="3GiB") as cluster, Client(cluster) as client:
        lazy = to_dataarray(dem_array(side, chunk), side)
        if on_disk:
            import rioxarray

            src = os.path.join(workdir, "dem.tif")
            lazy.rio.write_crs("EPSG:32650", inplace=True)
            lazy.rio.to_raster(src, tiled=True, lock=True, compute=True)
            lazy = rioxarray.open_rasterio(src, chunks={"band": 1, "y": chunk, "x": chunk}).squeeze("band", drop=True)
        t0 = time.perf_counter()
        chain(lazy, workdir=workdir)
        elapsed = time.perf_counter() - t0
        peaks = client.run(lambda: __import__("psutil").Process().memory_info().rss)
    return {"op": f"fill+d8+acc LocalCluster 2x3GiB {'disk->disk' if on_disk else 'generated->disk'}",
            "size": size_label(side * side), "ours": {"median_s": elapsed, "min_s": elapsed, "max_s": elapsed},
            "anchor": None, "anchor_t": None, "ratio": None,
            "goal": "<= 30 min, <= 8 GB" if on_disk else "completes within worker limits",
            "note": f"worker RSS at end (bytes): {sorted(peaks.values())}"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=[10**6])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--cluster", action="store_true", help="4e8 cells on a LocalCluster of 2 workers x 3 GiB")
    p.add_argument("--cluster-size", type=lambda s: int(float(s)), default=4 * 10**8)
    p.add_argument("--on-disk", action="store_true", help="1e9 cells from a GeoTIFF on disk")
    p.add_argument("--disk-size", type=lambda s: int(float(s)), default=10**9)
    p.add_argument("--workdir", default=None)
    p.add_argument("--out", default=RESULTS)
    a = p.parse_args(argv)
    load_before = os.getloadavg()
    rows = run_memory_and_threads(a.sizes, a.threads, a.chunk, a.repeat) if a.sizes else []
    if a.cluster or a.on_disk:
        if not a.workdir:
            raise SystemExit("--cluster / --on-disk need --workdir (a folder with free space)")
        os.makedirs(a.workdir, exist_ok=True)
        if a.cluster:
            rows.append(run_cluster(a.cluster_size, 2048, a.workdir, False))
        if a.on_disk:
            rows.append(run_cluster(a.disk_size, 2048, a.workdir, True))
    out = {"script": "benchmarks/bench_hydro_dask.py", "machine": machine(), "versions": versions(),
           "load_before": list(load_before), "load_after": list(os.getloadavg()), "rows": rows}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
