"""CUDA kernels on a real GPU: resident, with transfers, CPU, and CuPy / hardware-floor anchors.

One run measures, at each size (default 1e8 cells, synthetic seeded inputs):

- the card: device-to-device copy bandwidth and FP32 rate (an FMA-chain kernel), pageable vs
  pinned host<->device copies; these set the floors the kernels are judged against;
- distance transform (1e3 seeds): ours vs ``cupyx.scipy.ndimage.distance_transform_edt``
  (float32 output, preallocated, same run);
- IDW (100 gauges, p=2) and zonal statistics (1e4 random zones) vs their floor: the bytes the
  kernel must move / the device copy bandwidth (for IDW, or the FP32 operations / the FP32 rate,
  whichever is larger);
- coverage count (1e5 disks), D8 directions and flow accumulation (a tilted synthetic terrain
  with noise, no flats, so no host step), each vs the CPU kernel;
- chains kept on the device (coverage -> zonal, IDW -> zonal): resident, with transfers, CPU;
- correctness of every GPU result against the CPU kernel on the same data (>= 1e6 cells),
  including D8/accumulation on a filled DEM with flats (the host flat step).

"ours" times are medians of ``--repeat`` runs after a warm-up call, with a device synchronize;
"resident" means inputs already on the device and the output left there; "with transfers"
adds the copy in and the copy out (pinned, chunked). Writes ``--json``.

    python benchmarks/bench_gpu.py                       # 1e8 cells
    python benchmarks/bench_gpu.py --sizes 1e6 --repeat 3 --json /tmp/bench_gpu.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _cimtwin_status_fresh() -> str:
    """What cimtwin says about CUDA in a fresh interpreter, before this script's NumPy shim."""
    code = "from cimtwin.kernels._dispatch import cuda_status; print(cuda_status())"
    try:
        p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=ROOT))
        return (p.stdout.strip() or p.stderr.strip()[-500:])
    except Exception as exc:  # pragma: no cover - diagnostics only
        return f"check failed: {exc}"


STATUS_BEFORE_SHIM = None
if __name__ == "__main__":
    STATUS_BEFORE_SHIM = _cimtwin_status_fresh()
    # numba-cuda builds of the benchmark image still call np.row_stack (removed in NumPy 2.5);
    # cimtwin itself reports that (see STATUS_BEFORE_SHIM); the benchmark aliases it to run.
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack


def _stats(times):
    return {"median_s": float(np.median(times)), "min_s": float(np.min(times)), "max_s": float(np.max(times))}


def gpu_time(fn, repeat, sync):
    fn()  # warm-up (compiles)
    sync()
    times = []
    for _ in range(max(1, repeat)):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
        del out
    return _stats(times)


def cpu_time(fn, repeat, warm=True):
    if warm:
        fn()
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return _stats(times)


ROWS: list = []
QUICK = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"  # simulator: a functional run with tiny counts


def row(op, size, ours, *, anchor=None, anchor_t=None, goal=None, goal_s=None, note=""):
    ratio = anchor_t["median_s"] / ours["median_s"] if anchor_t else None
    goal_ratio = goal_s / ours["median_s"] if goal_s else None
    met = (ours["median_s"] <= goal_s) if goal_s else None
    r = {"op": op, "size": size, "ours": ours, "anchor": anchor, "anchor_t": anchor_t, "ratio": ratio,
         "goal": goal, "goal_ratio": goal_ratio, "goal_s": goal_s, "met": met, "note": note}
    ROWS.append(r)
    _dump()
    a = f"{anchor_t['median_s'] * 1e3:9.3f} ms ({anchor})" if anchor_t else "-"
    g = f" goal {goal}: {goal_s * 1e3:.3f} ms -> {'MET' if met else 'not met'} ({goal_ratio:.2f})" if goal_s else ""
    print(f"{op:<58} {size:>5} ours {ours['median_s'] * 1e3:9.3f} ms [{ours['min_s'] * 1e3:.3f}-"
          f"{ours['max_s'] * 1e3:.3f}] anchor {a} ratio {ratio if ratio is None else round(ratio, 3)}{g} {note}",
          flush=True)


CHECKS: list = []
META: dict = {}  # filled by main(); the JSON is rewritten after every row, so a cut-off run keeps its rows


def _dump():
    if not META.get("json"):
        return
    result = {k: v for k, v in META.items() if k != "json"}
    result.update(load_after=list(os.getloadavg()), checks=CHECKS, rows=ROWS)
    with open(META["json"], "w") as fh:
        json.dump(result, fh, indent=1)


def check(name, ok, detail=""):
    CHECKS.append({"check": name, "ok": bool(ok), "detail": detail})
    print(f"check {name}: {'OK' if ok else 'FAILED'} {detail}", flush=True)
    _dump()


def _label(n):
    e = int(round(math.log10(n)))
    return f"1e{e}" if 10**e == n else str(n)


def device_info():
    from numba import cuda

    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
    info = {"name": name, "compute_capability": list(dev.compute_capability),
            "sms": int(dev.MULTIPROCESSOR_COUNT), "clock_mhz": int(dev.CLOCK_RATE) // 1000}
    try:
        free, total = cuda.current_context().get_memory_info()
        info["memory_gib"] = round(total / 2**30, 1)
    except Exception:
        pass
    try:
        info["driver"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
        info["runtime"] = ".".join(map(str, cuda.runtime.get_version()))
    except Exception:
        pass
    return info


def versions():
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("numba", "numba_cuda", "cupy", "scipy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


# ------------------------------------------------------------------------------------------
# the card
# ------------------------------------------------------------------------------------------
def _fma_kernel():
    # ``cuda`` as a module global, so that the simulator can swap in its fake module
    global cuda
    from numba import cuda

    @cuda.jit(fastmath=True)
    def fma_chain(out, iters):
        t = cuda.grid(1)
        a = np.float32(t) * np.float32(1e-7)
        b0 = a + np.float32(0.1)
        b1 = a + np.float32(0.2)
        b2 = a + np.float32(0.3)
        b3 = a + np.float32(0.4)
        b4 = a + np.float32(0.5)
        b5 = a + np.float32(0.6)
        b6 = a + np.float32(0.7)
        b7 = a + np.float32(0.8)
        m = np.float32(0.999999)
        c = np.float32(1e-6)
        for _ in range(iters):
            b0 = b0 * m + c
            b1 = b1 * m + c
            b2 = b2 * m + c
            b3 = b3 * m + c
            b4 = b4 * m + c
            b5 = b5 * m + c
            b6 = b6 * m + c
            b7 = b7 * m + c
        out[t] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7

    return fma_chain


def measure_card(repeat, sync):
    from numba import cuda

    card = {}
    nbytes = (4 if QUICK else 400) * 2**20
    a = cuda.device_array(nbytes // 4, np.float32)
    b = cuda.device_array(nbytes // 4, np.float32)
    t = gpu_time(lambda: b.copy_to_device(a), repeat + 2, sync)
    card["d2d_copy_GBps"] = 2 * nbytes / t["median_s"] / 1e9  # read + write
    row("device-to-device copy %d MiB (read+write GB/s = %.0f)" % (nbytes >> 20, card["d2d_copy_GBps"]), "-", t,
        note="sets the bandwidth floor")
    del a, b
    kern = _fma_kernel()
    threads = 2 if QUICK else 256
    blocks = 1 if QUICK else int(cuda.get_current_device().MULTIPROCESSOR_COUNT) * 16
    iters = 4 if QUICK else 4096
    out = cuda.device_array(blocks * threads, np.float32)
    t = gpu_time(lambda: kern[blocks, threads](out, iters), repeat + 2, sync)
    card["fp32_TFLOPS"] = 2 * 8 * iters * blocks * threads / t["median_s"] / 1e12
    row("FP32 FMA chains (TFLOP/s = %.1f)" % card["fp32_TFLOPS"], "-", t, note="sets the FP32 floor")
    # host <-> device: pageable (plain numba copies) vs pinned staged (cimtwin.kernels.cuda.transfer)
    from cimtwin.kernels.cuda.transfer import download, upload

    host = np.ones(nbytes // 4, np.float32)
    d = cuda.device_array(nbytes // 4, np.float32)
    tp = cpu_time(lambda: cuda.to_device(host), repeat)
    tq = cpu_time(lambda: upload(host), repeat)
    card["h2d_pageable_GBps"] = nbytes / tp["median_s"] / 1e9
    card["h2d_pinned_staged_GBps"] = nbytes / tq["median_s"] / 1e9
    row("host->device %d MiB, pinned staged (GB/s %.1f) vs pageable (%.1f)" % (
        nbytes >> 20, card["h2d_pinned_staged_GBps"], card["h2d_pageable_GBps"]), "-", tq, anchor="numba cuda.to_device (pageable)",
        anchor_t=tp)
    tp = cpu_time(lambda: d.copy_to_host(), repeat)
    out_h = np.empty_like(host)
    tq = cpu_time(lambda: download(d, out_h), repeat)
    card["d2h_pageable_GBps"] = nbytes / tp["median_s"] / 1e9
    card["d2h_pinned_staged_GBps"] = nbytes / tq["median_s"] / 1e9
    row("device->host %d MiB, pinned staged (GB/s %.1f) vs pageable (%.1f)" % (
        nbytes >> 20, card["d2h_pinned_staged_GBps"], card["d2h_pageable_GBps"]), "-", tq, anchor="numba copy_to_host (pageable)",
        anchor_t=tp)
    try:
        from cimtwin.kernels.cuda.transfer import pinned_empty

        ph = pinned_empty(host.shape, host.dtype)
        ph[:] = 1
        t = cpu_time(lambda: upload(ph), repeat)
        card["h2d_pinned_direct_GBps"] = nbytes / t["median_s"] / 1e9
        row("host->device %d MiB from a pinned array (GB/s %.1f)" % (nbytes >> 20, card["h2d_pinned_direct_GBps"]),
            "-", t)
        del ph
    except Exception as exc:
        print("pinned direct copy failed:", exc)
    del d, host, out_h
    return card


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
def _failed(name, exc):
    """A benchmark section failed: print the traceback, record a failed check, go on."""
    import traceback

    traceback.print_exc()
    check(f"section {name} ran", False, repr(exc)[:500])


def bench_size(n, repeat, card, cp, sync):
    from numba import cuda

    from cimtwin.kernels import coverage as cpu_cov, distance as cpu_dist, hydro as cpu_hydro
    from cimtwin.kernels import interp as cpu_idw, zonal as cpu_zonal
    from cimtwin.kernels.cuda import coverage as g_cov, distance as g_dist, hydro as g_hydro
    from cimtwin.kernels.cuda import interp as g_idw, pipeline, zonal as g_zonal
    from cimtwin.kernels.cuda.transfer import download, upload

    rows = int(round(math.sqrt(n)))
    cols = n // rows
    shape = (rows, cols)
    size = _label(rows * cols)
    rng = np.random.default_rng(0)
    bw = card["d2d_copy_GBps"] * 1e9
    flops = card["fp32_TFLOPS"] * 1e12

    # ---- distance transform: 1,000 seeds
    try:
        mask = np.zeros(shape, bool)
        mask.flat[rng.choice(rows * cols, 10 if QUICK else 1000, replace=False)] = True
        d_mask = cuda.to_device(mask.view(np.uint8))
        d_out = cuda.device_array(shape, np.float32)
        ours = gpu_time(lambda: g_dist.distance_device(d_mask, 5.0, math.inf, False, out=d_out), repeat, sync)
        anchor_t = None
        anchor = None
        if cp is not None:
            try:
                import cupyx.scipy.ndimage as cnd

                c_img = cp.asarray(~mask)
                c_out = cp.empty(shape, cp.float32)
                try:
                    def cupy_edt():
                        return cnd.distance_transform_edt(c_img, sampling=5.0, return_distances=True,
                                                          float64_distances=False, distances=c_out)
                    cupy_edt()
                    anchor = "cupyx.scipy.ndimage.distance_transform_edt (float32 output, preallocated)"
                except TypeError:
                    def cupy_edt():
                        return cnd.distance_transform_edt(c_img, sampling=5.0, float64_distances=False)
                    anchor = "cupyx.scipy.ndimage.distance_transform_edt (float32 output)"
                anchor_t = gpu_time(cupy_edt, repeat, sync)
                res = cupy_edt()
                theirs = cp.asnumpy(c_out if res is None else res)
                mine = d_out.copy_to_host()
                rel = float(np.max(np.abs(mine.astype(np.float64) - theirs) / np.maximum(theirs, 1e-9)))
                check(f"distance vs cupy {size}", rel < 1e-5, f"max rel diff {rel:.2e}")
                del c_out, res, theirs
                t64 = gpu_time(lambda: cnd.distance_transform_edt(c_img, sampling=5.0), repeat, sync)
                row("distance transform, resident, vs CuPy's default float64 output", size, ours,
                    anchor="cupyx.scipy.ndimage.distance_transform_edt (float64 output, allocated)", anchor_t=t64)
                del c_img
            except Exception as exc:  # no anchor, but keep our figures
                _failed("cupy distance anchor", exc)
                anchor = anchor_t = None

        row("distance transform, distances only (1e3 seeds), resident", size, ours, anchor=anchor, anchor_t=anchor_t,
            goal="faster than CuPy (same run)", goal_s=anchor_t["median_s"] if anchor_t else None)
        tr = gpu_time(lambda: g_dist.distance_cuda(mask, 5.0, math.inf, False), repeat, sync)
        cpu_t = cpu_time(lambda: cpu_dist.distance_cpu(mask, 5.0, math.inf, False), repeat)
        row("distance transform, with transfers (bool in, float32 out)", size, tr, anchor="cimtwin CPU kernel",
            anchor_t=cpu_t)
        d_cpu = cpu_dist.distance_cpu(mask, 5.0, math.inf, False)[0]
        check(f"distance == CPU {size}", np.array_equal(d_out.copy_to_host(), d_cpu))
        small = (slice(0, 30), slice(0, 30)) if QUICK else (slice(0, 1000), slice(0, 1000))  # index path (CPU order and tie-breaks) on 1e6 cells
        m_small = np.ascontiguousarray(mask[small])
        m_small[::97, ::89] = True
        dg, ig = g_dist.distance_cuda(m_small, 5.0, 200.0, True)
        dc, ic = cpu_dist.distance_cpu(m_small, 5.0, 200.0, True)
        check("distance+index == CPU 1e6", np.array_equal(dg, dc) and np.array_equal(ig, ic))
        g_dist.release_scratch()
        del d_mask, d_out, mask, d_cpu
    except Exception as exc:  # keep the run going: record the failure
        _failed('distance transform', exc)

    # ---- coverage count: 1e5 disks, R = 15 cells
    try:
        ns = 20 if QUICK else 100_000
        r, c = rng.uniform(0, rows - 1, ns), rng.uniform(0, cols - 1, ns)
        rad = np.full(ns, 15.0)
        d_r, d_c, d_rad = (cuda.to_device(a) for a in (r, c, rad))
        ours = gpu_time(lambda: g_cov.coverage_count_device(shape, d_r, d_c, d_rad), repeat, sync)
        strategy = cpu_cov.choose_strategy(rows * cols, ns, 15.0, False)
        cpu_t = cpu_time(lambda: cpu_cov.coverage_count_cpu(shape, r, c, rad, None, None, strategy), repeat)
        row("coverage count (1e5 disks, R=15), resident", size, ours, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        tr = gpu_time(lambda: g_cov.coverage_count_cuda(shape, r, c, rad, None, None, "stamp"), repeat, sync)
        row("coverage count (1e5 disks, R=15), with transfers", size, tr, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        cnt_cpu = cpu_cov.coverage_count_cpu(shape, r, c, rad, None, None, strategy)
        check(f"coverage == CPU {size}", np.array_equal(g_cov.coverage_count_cuda(shape, r, c, rad, None, None,
                                                                                  "stamp"), cnt_cpu))
    except Exception as exc:  # keep the run going: record the failure
        _failed('coverage count', exc)

    # ---- zonal: values float32, 1e4 random zones (worst locality)
    try:
        values = (rng.random(rows * cols, np.float32) * 50).astype(np.float32)
        bins = rng.integers(0, 10_000, rows * cols).astype(np.int64)
        d_v, d_b = cuda.to_device(values), cuda.to_device(bins)
        floor = (values.nbytes + bins.nbytes) / bw
        floor_t = {"median_s": floor, "min_s": floor, "max_s": floor}
        plan = g_zonal.plan_for(10_000, values.size)
        with warnings.catch_warnings(record=True) as caught:  # a refused shared-memory opt-in says so
            warnings.simplefilter("always")
            g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0)
        fell_back = "".join(f"; fell back: {w.message}" for w in caught if w.category is RuntimeWarning)
        ours = gpu_time(lambda: g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0), repeat, sync)
        row("zonal stats (1e4 random zones, f32 values, i64 zones), resident", size, ours,
            anchor="floor: bytes read / d2d copy bandwidth", anchor_t=floor_t,
            goal="within 3x of the floor", goal_s=3 * floor, note=f"launch {plan}{fell_back}")
        # the same zones with global atomics only (the kernel before private partials), same run
        glob = g_zonal.plan_for(10_000, values.size, budget=0)
        t = gpu_time(lambda: g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0, plan=glob), repeat, sync)
        row("zonal stats (1e4 random zones), global atomics only, resident", size, t,
            anchor="floor: bytes read / d2d copy bandwidth", anchor_t=floor_t, note=f"launch {glob}")
        zg = [a.copy_to_host() for a in g_zonal.zonal_device(d_v, d_b, 10_000, None, 25.0, plan=glob)]
        zc = cpu_zonal.zonal_cpu(values, bins, 10_000, None, 25.0)
        ok = all(np.array_equal(zg[k], zc[k]) for k in (0, 2, 3, 4, 5)) and np.allclose(zg[1], zc[1], rtol=1e-9)
        check(f"zonal global atomics == CPU {size} (sums rtol 1e-9)", ok)
        cpu_t = cpu_time(lambda: cpu_zonal.zonal_cpu(values, bins, 10_000, None, 25.0), repeat)
        row("zonal stats (1e4 zones), resident vs CPU", size, ours, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        if cp is not None:
            cb, cv = cp.asarray(bins), cp.asarray(values)
            t = gpu_time(lambda: (cp.bincount(cb, minlength=10_000), cp.bincount(cb, weights=cv, minlength=10_000)),
                         repeat, sync)
            row("zonal stats (1e4 zones), resident vs CuPy bincount (count+sum only)", size, ours,
                anchor="cupy.bincount x2 (count, sum; no min/max)", anchor_t=t)
            del cb, cv
        tr = gpu_time(lambda: g_zonal.zonal_cuda(values, bins, 10_000, None, 25.0), repeat, sync)
        row("zonal stats (1e4 zones), with transfers", size, tr, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        zg = g_zonal.zonal_cuda(values, bins, 10_000, None, 25.0)
        zc = cpu_zonal.zonal_cpu(values, bins, 10_000, None, 25.0)
        ok = all(np.array_equal(zg[k], zc[k]) for k in (0, 2, 3, 4, 5)) and np.allclose(zg[1], zc[1], rtol=1e-9)
        check(f"zonal == CPU {size} (sums rtol 1e-9)", ok)
        # few zones: private partials, copies per group of warps; then one copy only, same run
        d_b100 = cuda.to_device(bins % 100)
        zc = cpu_zonal.zonal_cpu(values, bins % 100, 100, None, 25.0)
        plan = g_zonal.plan_for(100, values.size)
        one = plan._replace(copies=1, shared_bytes=100 * g_zonal.ZONE_BYTES)
        for p, label in ((plan, "zonal stats (100 zones, shared-memory partials), resident"),
                         (one, "zonal stats (100 zones, one shared copy a block), resident")):
            ours = gpu_time(lambda: g_zonal.zonal_device(d_v, d_b100, 100, None, 25.0, plan=p), repeat, sync)
            row(label, size, ours, anchor="floor: bytes read / d2d copy bandwidth", anchor_t=floor_t,
                goal="within 3x of the floor" if p is plan else None, goal_s=3 * floor if p is plan else None,
                note=f"launch {p}")
            zg = [a.copy_to_host() for a in g_zonal.zonal_device(d_v, d_b100, 100, None, 25.0, plan=p)]
            ok = all(np.array_equal(zg[k], zc[k]) for k in (0, 2, 3, 4, 5)) and np.allclose(zg[1], zc[1], rtol=1e-9)
            check(f"zonal 100 zones, {p.copies} copies == CPU {size} (sums rtol 1e-9)", ok)
        del d_v, d_b, d_b100
    except Exception as exc:  # keep the run going: record the failure
        _failed('zonal', exc)

    # ---- IDW: 100 gauges, p = 2, all gauges
    try:
        ng = 5 if QUICK else 100
        gr, gc, gv = rng.uniform(0, rows - 1, ng), rng.uniform(0, cols - 1, ng), rng.uniform(0, 80, ng)
        d_idw = cuda.device_array(shape, np.float32)
        ours = gpu_time(lambda: g_idw.idw_device(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan, out=d_idw), repeat,
                        sync)
        # 7 FP32 operations per gauge and cell: dx, dx^2 + dy^2 (2), 1/d^2, w*v, num +=, den +=
        floor_flops = 7.0 * ng * rows * cols / flops
        floor_bytes = 4.0 * rows * cols / bw
        floor = max(floor_flops, floor_bytes)
        row("IDW (100 gauges, p=2), resident", size, ours, anchor="floor: max(FP32 ops / FP32 rate, bytes / bw)",
            anchor_t={"median_s": floor, "min_s": floor, "max_s": floor}, goal="within 3x of the floor",
            goal_s=3 * floor, note=f"flop floor {floor_flops * 1e3:.3f} ms, byte floor {floor_bytes * 1e3:.3f} ms")
        cpu_t = cpu_time(lambda: cpu_idw.idw_cpu(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan), max(1, repeat - 1))
        row("IDW (100 gauges, p=2), resident vs CPU", size, ours, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        tr = gpu_time(lambda: g_idw.idw_cuda(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan), repeat, sync)
        row("IDW (100 gauges, p=2), with transfer out", size, tr, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        ig_ = d_idw.copy_to_host()
        ic_ = cpu_idw.idw_cpu(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan)
        rel = float(np.max(np.abs(ig_.astype(np.float64) - ic_) / np.maximum(np.abs(ic_), 1e-12)))
        check(f"IDW vs CPU {size}", rel < 1e-5, f"max rel diff {rel:.2e}")
        del ig_, ic_, d_idw
    except Exception as exc:  # keep the run going: record the failure
        _failed('IDW', exc)

    # ---- resident chains: coverage -> zonal and IDW -> zonal (zones = the 1e4 random bins)
    try:
        zones2 = bins.reshape(shape)
        d_zones = upload(zones2)
        t_res = gpu_time(lambda: pipeline.coverage_zonal(shape, d_r, d_c, d_rad, d_zones, 10_000, threshold=1.5,
                                                         return_grid=False), repeat, sync)
        t_tr = gpu_time(lambda: pipeline.coverage_zonal(shape, r, c, rad, zones2, 10_000, threshold=1.5), repeat, sync)

        def cpu_chain_cov():
            cc = cpu_cov.coverage_count_cpu(shape, r, c, rad, None, None, strategy)
            return cpu_zonal.zonal_cpu(cc.ravel(), bins, 10_000, None, 1.5), cc

        cpu_t = cpu_time(cpu_chain_cov, repeat)
        row("chain coverage -> zonal, resident (zones on device, table out)", size, t_res, anchor="CPU chain",
            anchor_t=cpu_t)
        row("chain coverage -> zonal, with transfers (zones in, grid + table out)", size, t_tr, anchor="CPU chain",
            anchor_t=cpu_t)
        got = pipeline.coverage_zonal(shape, r, c, rad, zones2, 10_000, threshold=1.5)
        want, _ = cpu_chain_cov()
        check(f"chain coverage->zonal == CPU {size}",
              np.array_equal(got.grid, cnt_cpu) and all(np.allclose(a, b, rtol=1e-9) for a, b in zip(got.stats, want)))
        t_res = gpu_time(lambda: pipeline.idw_zonal(shape, gr, gc, gv, d_zones, 10_000, threshold=40.0,
                                                    return_grid=False), repeat, sync)
        t_tr = gpu_time(lambda: pipeline.idw_zonal(shape, gr, gc, gv, zones2, 10_000, threshold=40.0), repeat, sync)

        def cpu_chain_idw():
            g = cpu_idw.idw_cpu(shape, gr, gc, gv, 2.0, math.inf, 0, math.nan)
            return cpu_zonal.zonal_cpu(g.ravel(), bins, 10_000, None, 40.0)

        cpu_t = cpu_time(cpu_chain_idw, max(1, repeat - 1), warm=False)
        row("chain IDW -> zonal, resident (zones on device, table out)", size, t_res, anchor="CPU chain", anchor_t=cpu_t)
        row("chain IDW -> zonal, with transfers (zones in, grid + table out)", size, t_tr, anchor="CPU chain",
            anchor_t=cpu_t)
        del d_zones, zones2, bins, values, cnt_cpu, d_r, d_c, d_rad
    except Exception as exc:  # keep the run going: record the failure
        _failed('resident chains', exc)

    # ---- D8 and accumulation: tilted synthetic terrain, noise below the slope (no flats)
    try:
        ii = np.arange(rows, dtype=np.float32)[:, None]
        jj = np.arange(cols, dtype=np.float32)[None, :]
        z = (0.7 * ii + 0.3 * jj + 0.4 * rng.random(shape, np.float32)).astype(np.float32)
        valid = np.ones(shape, bool)
        d_z, d_valid = cuda.to_device(z), cuda.to_device(valid.view(np.uint8))
        ours = gpu_time(lambda: g_hydro.d8_device(d_z, d_valid, False)[0], repeat, sync)
        cpu_t = cpu_time(lambda: cpu_hydro.d8_directions(z, valid, False), repeat)
        row("D8 flow directions (no flats), resident", size, ours, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        tr = gpu_time(lambda: g_hydro.d8_cuda(z, valid, False)[0], repeat, sync)
        row("D8 flow directions (no flats), with transfers", size, tr, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        dirs_cpu = cpu_hydro.d8_directions(z, valid, False)[0]
        d_dirs = g_hydro.d8_device(d_z, d_valid, False)[0]
        check(f"D8 == CPU {size}", np.array_equal(d_dirs.copy_to_host(), dirs_cpu))
        dtype = np.uint32
        ours = gpu_time(lambda: g_hydro.accumulation_device(d_dirs, dtype), repeat, sync)
        cpu_t = cpu_time(lambda: cpu_hydro.flow_accumulation_d8(dirs_cpu, dtype), max(1, repeat - 1))
        row("flow accumulation (D8), resident", size, ours, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        tr = gpu_time(lambda: g_hydro.accumulation_cuda(dirs_cpu, dtype), repeat, sync)
        row("flow accumulation (D8), with transfers", size, tr, anchor="cimtwin CPU kernel", anchor_t=cpu_t)
        check(f"accumulation == CPU {size}", np.array_equal(g_hydro.accumulation_device(d_dirs, dtype).copy_to_host(),
                                                            cpu_hydro.flow_accumulation_d8(dirs_cpu, dtype)))
        del d_z, d_valid, d_dirs, z, dirs_cpu, valid
    except Exception as exc:  # keep the run going: record the failure
        _failed('D8 and accumulation', exc)


def check_hydro_flats(sync):
    """1e6 cells of blocky synthetic terrain, filled on the CPU: many flats (the host step)."""
    from cimtwin.kernels import hydro as cpu_hydro
    from cimtwin.kernels.cuda import hydro as g_hydro

    rng = np.random.default_rng(1)
    m = 40 if QUICK else 1000
    coarse = rng.random((m // 20 + 2, m // 20 + 2)).astype(np.float32) * 20
    z = np.kron(coarse, np.ones((20, 20), np.float32))[:m, :m] + np.round(rng.random((m, m)) * 2)
    z = np.ascontiguousarray(z.astype(np.float32))
    z[m * 2 // 5:m * 2 // 5 + m // 50, m * 3 // 10:m * 3 // 10 + m // 33] = np.nan
    valid = np.isfinite(z)
    filled = cpu_hydro.priority_flood_fill(z, valid, False)
    g_dirs, g_steps = g_hydro.d8_cuda(filled, valid, True)
    c_dirs, c_steps = cpu_hydro.d8_directions(filled, valid, True)
    n_flat = int(np.count_nonzero(c_steps))
    check("D8 on a filled DEM with flats == CPU 1e6", np.array_equal(g_dirs, c_dirs) and np.array_equal(g_steps, c_steps),
          f"{n_flat} flat cells")
    check("accumulation on it == CPU 1e6", np.array_equal(g_hydro.accumulation_cuda(c_dirs), cpu_hydro.flow_accumulation_d8(c_dirs)))
    t = gpu_time(lambda: g_hydro.d8_cuda(filled, valid, False), 3, sync)
    ct = cpu_time(lambda: cpu_hydro.d8_directions(filled, valid, False), 3)
    row("D8 on a filled DEM with flats (host flat step), with transfers", "1e6", t, anchor="cimtwin CPU kernel",
        anchor_t=ct, note=f"{n_flat} flat cells")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=[100_000_000])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", default=os.path.join(HERE, "results", "bench_gpu.json"))
    args = p.parse_args(argv)
    from cimtwin.kernels._dispatch import cuda_status

    ok, why = cuda_status()
    if not ok:
        print(f"bench_gpu: skipped: {why}")
        return 0
    from numba import cuda

    sync = cuda.synchronize
    try:
        import cupy as cp
    except Exception as exc:
        print(f"CuPy unavailable ({exc}); CuPy anchors skipped")
        cp = None
    load_before = os.getloadavg()
    dev = device_info() if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" else {"name": "CUDA simulator"}
    print(f"machine: {machine()}\ndevice: {dev}\nversions: {versions()}\n"
          f"cimtwin cuda_status before the row_stack shim: {STATUS_BEFORE_SHIM}", flush=True)
    t0 = time.perf_counter()
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    META.update({
        "script": "benchmarks/bench_gpu.py",
        "command": "python benchmarks/bench_gpu.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{machine()}; GPU {dev.get('name')}",
        "device": dev,
        "versions": versions(),
        "load_before": list(load_before),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cimtwin_cuda_status_before_shim": STATUS_BEFORE_SHIM,
        "json": args.json,
    })
    try:
        card = measure_card(args.repeat, sync)
    except Exception as exc:
        _failed("card", exc)
        card = {"d2d_copy_GBps": 4000.0, "fp32_TFLOPS": 60.0, "nominal": "measurement failed; nominal values"}
    META["card"] = card
    print(f"card: {card}", flush=True)
    try:
        check_hydro_flats(sync)
    except Exception as exc:  # keep the run going: report it
        check("hydro flats", False, repr(exc))
    for n in args.sizes:
        bench_size(n, args.repeat, card, cp, sync)
    META["wall_s"] = time.perf_counter() - t0
    _dump()
    print(f"wrote {args.json}; checks failed: {[c['check'] for c in CHECKS if not c['ok']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
