"""Routing benchmarks: cimtwin vs scipy.sparse.csgraph and networkx on synthetic road-like graphs.

The graph is synthetic: a jittered square grid (100 m blocks) with 30 % of the street
segments removed, a few diagonals, and edge lengths 0-15 % longer than straight lines.

Run: python benchmarks/bench_routing.py [--sizes 1e5 1e6] [--repeat 5]
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import machine, parse_args, report, size_label, timeit  # noqa: E402


def road_like(n_nodes: int, seed: int = 0, spacing_m: float = 100.0, keep: float = 0.7, diagonal: float = 0.06):
    """Synthetic road-like graph: node x/y and two-way edges (u, v, length)."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_nodes)))
    n = side * side
    ii, jj = np.divmod(np.arange(n), side)
    x = jj * spacing_m + rng.uniform(-0.25, 0.25, n) * spacing_m
    y = ii * spacing_m + rng.uniform(-0.25, 0.25, n) * spacing_m
    idx = np.arange(n).reshape(side, side)
    us, vs = [], []
    for a, b, p in ((idx[:, :-1], idx[:, 1:], keep), (idx[:-1, :], idx[1:, :], keep),
                    (idx[:-1, :-1], idx[1:, 1:], diagonal), (idx[:-1, 1:], idx[1:, :-1], diagonal)):
        a, b = a.ravel(), b.ravel()
        m = rng.random(a.size) < p
        us.append(a[m]); vs.append(b[m])
    u = np.concatenate(us).astype(np.int32)
    v = np.concatenate(vs).astype(np.int32)
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * (1 + rng.uniform(0, 0.15, u.size))
    return x, y, u, v, length


def main(argv=None):
    import os
    import warnings

    import networkx as nx
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra as sp_dijkstra

    from cimtwin.config import config
    from cimtwin.kernels.graph import build_csr
    from cimtwin.routing import RoadNetwork

    config.progress = False
    args = parse_args(__doc__.splitlines()[0], [100_000, 1_000_000], default_repeat=5, argv=argv)
    print(machine())
    print("load average at start:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    rows = []
    for n in args.sizes:
        x, y, u, v, length = road_like(n)
        n = x.size
        # The anchor's graph: the same arcs and weights, in the order the nodes were given.
        ip, ix, w, _ = build_csr(n, np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([length, length]))
        A = sp.csr_matrix((w, ix, ip), shape=(n, n))
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = RoadNetwork.from_arrays(x, y, u, v, length, crs="EPSG:32650")
        net.distances([0])  # builds the CSR caches (and compiles)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # The same graph renumbered the way cimtwin numbers it internally (Hilbert order),
        # to show how much of the gap is node order rather than the kernels.
        order, rank = net._spatial_order()
        A_h = sp.csr_matrix((w, ix, ip), shape=(n, n))[order][:, order].tocsr()
        label = size_label(n) if n == 10 ** round(np.log10(n)) else f"{n} (~{size_label(10 ** round(np.log10(n)))})"
        print(f"{label}: {n} nodes, {ix.size} arcs, mean degree {ix.size / n:.2f}", flush=True)
        rng = np.random.default_rng(1)
        src = int(rng.integers(n))
        ours = timeit(lambda: net.distances([src]), args.repeat)
        ref = timeit(lambda: sp_dijkstra(A, directed=True, indices=src), args.repeat)
        ref_h = timeit(lambda: sp_dijkstra(A_h, directed=True, indices=int(rank[src])), args.repeat)
        assert np.array_equal(net.distances([src])[0], sp_dijkstra(A, directed=True, indices=src))
        G = nx.Graph()
        G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), length.tolist()), weight="length")
        t_nx = timeit(lambda: nx.single_source_dijkstra_path_length(G, src, weight="length"), 1)
        rows.append({"op": "one-to-all", "nodes": label, "cimtwin_s": ours, "anchor": "scipy dijkstra",
                     "anchor_s": ref, "scipy_hilbert_s": ref_h, "networkx_s": t_nx, "vs_networkx": t_nx / ours})

        fac = rng.choice(n, 1000, replace=False)
        net.nearest_facility(fac[:2])
        ours = timeit(lambda: net.nearest_facility(fac), args.repeat)
        ref = timeit(lambda: sp_dijkstra(A, directed=True, indices=fac, min_only=True), args.repeat)
        ref_h = timeit(lambda: sp_dijkstra(A_h, directed=True, indices=rank[fac], min_only=True), args.repeat)
        d_ours, _ = net.nearest_facility(fac)
        assert np.array_equal(d_ours, sp_dijkstra(A, directed=True, indices=fac, min_only=True))
        rows.append({"op": "nearest of 1,000 facilities", "nodes": label, "cimtwin_s": ours,
                     "anchor": "scipy dijkstra min_only", "anchor_s": ref, "scipy_hilbert_s": ref_h})

        o = rng.integers(0, n, 1000)
        t = rng.integers(0, n, 1000)
        net.prepare_landmarks(n_landmarks=8)  # compile; the second call is timed
        t0 = time.perf_counter()
        net.prepare_landmarks(n_landmarks=8)
        prep = time.perf_counter() - t0
        net.route_costs(o[:2], t[:2])  # compile
        ours = timeit(lambda: net.route_costs(o, t), args.repeat)
        got = net.route_costs(o, t)
        t_sc = timeit(lambda: sp_dijkstra(A, directed=True, indices=int(o[0])), args.repeat)
        check = sp_dijkstra(A, directed=True, indices=o[:5])[np.arange(5), t[:5]]
        # A bidirectional search adds the two halves of a path in another order: equal to
        # the last few bits, not bit for bit.
        assert np.allclose(got[:5], check, rtol=1e-12, atol=0)

        def nx_queries():
            out = []
            for a, b in zip(o[:20], t[:20]):
                try:
                    out.append(nx.bidirectional_dijkstra(G, int(a), int(b), weight="length")[0])
                except nx.NetworkXNoPath:
                    out.append(np.inf)
            return out

        t0 = time.perf_counter()
        ref20 = nx_queries()
        t_nx20 = time.perf_counter() - t0
        assert np.allclose(got[:20], ref20)
        rows.append({"op": "1,000 point-to-point (bidirectional ALT, 8 landmarks)", "nodes": label,
                     "cimtwin_s": ours, "anchor": "scipy one-to-all per query", "anchor_s": 1000 * t_sc,
                     "networkx_s": t_nx20 / 20 * 1000, "vs_networkx": t_nx20 / 20 * 1000 / ours,
                     "landmark_prep_s": prep, "with_prep_speedup": 1000 * t_sc / (ours + prep),
                     "unreachable_pairs": int(np.isinf(got).sum())})
        rows.append({"op": "network memory (arrays, CSR; landmarks excluded)", "nodes": label,
                     "MB": net.nbytes / 1e6, "tracemalloc_peak_MB": peak / 1e6,
                     "landmarks_MB": net.landmark_nbytes / 1e6})
        del G, A, A_h, net
    print("load average at end:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    report(rows)


if __name__ == "__main__":
    main()
