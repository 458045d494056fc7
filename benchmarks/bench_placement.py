"""Placement: cimtwin's lazy greedy maximal covering vs a Python lazy greedy and spopt's MCLP.

Synthetic input: candidates at uniform random positions on a square grid of demand cells
(weight 1 each), a disk of ``--radius-cells`` around each candidate. Rows:

* ``--sizes`` (default 1e6 demand cells, 5,000 candidates, k = 1,000): cimtwin's
  ``SitePlacement`` (incidence + solve, the goal's figure; and solve alone) against a lazy
  greedy (CELF: a heap of stale gains, only the top candidate re-evaluated) in Python/numpy
  on the same CSR incidence, prepared outside its timed region. Both pick sites by the same
  rule; the covered share of each is recorded.
* ``--mclp-sizes`` (default 2,500 demand cells, 100 candidates, k = 10): spopt's MCLP (the
  exact integer program, PuLP + HiGHS) for quality and time, beside cimtwin's greedy on the
  same problem. At the large size MCLP is not run: its dense cost matrix alone would need
  candidates x cells x 8 bytes (the row says how much).

Each call gets one untimed warm-up call, then ``--repeat`` timed calls.

    python benchmarks/bench_placement.py --sizes 1e6 --repeat 3
"""

from __future__ import annotations

import argparse
import heapq
import sys

import numpy as np
from _common import Results, goal_applies, measure, parse_args


def incidence(side, cand_r, cand_c, radius):
    from cimtwin.kernels.placement import disk_incidence

    demand_index = np.arange(side * side, dtype=np.int64)
    return disk_incidence(side, side, demand_index, cand_r, cand_c, np.full(len(cand_r), radius))


def ours_solve(indptr, indices, n_demand, k):
    from cimtwin.coverage import SitePlacement

    return SitePlacement.from_incidence(indptr=indptr, indices=indices, weights=np.ones(n_demand)).solve(k=k)


def ours_full(side, cand_r, cand_c, radius, k):
    indptr, indices = incidence(side, cand_r, cand_c, radius)
    return ours_solve(indptr, indices, side * side, k)


def lazy_greedy(indptr, indices, weights, k):
    """CELF lazy greedy: pop the best stale gain, re-evaluate it, keep it if it still leads."""
    uncovered = weights.astype(np.float64).copy()
    n = len(indptr) - 1
    gains = np.add.reduceat(uncovered[indices], indptr[:-1]) if len(indices) else np.zeros(n)
    gains[np.diff(indptr) == 0] = 0.0
    heap = [(-g, s) for s, g in enumerate(gains)]
    heapq.heapify(heap)
    chosen = []
    while heap and len(chosen) < k:
        neg, s = heapq.heappop(heap)
        g = uncovered[indices[indptr[s]:indptr[s + 1]]].sum()
        if heap and g < -heap[0][0]:
            heapq.heappush(heap, (-g, s))  # stale: put back with its true gain
            continue
        if g <= 0:
            break
        chosen.append(s)
        uncovered[indices[indptr[s]:indptr[s + 1]]] = 0.0
    return chosen


def covered_share(indptr, indices, chosen, n_demand):
    hit = np.zeros(n_demand, bool)
    for s in chosen:
        hit[indices[indptr[s]:indptr[s + 1]]] = True
    return hit.mean()


def mclp(indptr, indices, n_demand, k):
    """spopt MCLP on the same incidence: cost 0 inside a disk, 2 outside, service radius 1."""
    import pulp
    from spopt.locate import MCLP

    n = len(indptr) - 1
    cost = np.full((n_demand, n), 2.0)
    for s in range(n):
        cost[indices[indptr[s]:indptr[s + 1]], s] = 0.0
    model = MCLP.from_cost_matrix(cost, np.ones(n_demand), service_radius=1.0, p_facilities=k)
    model.solve(pulp.HiGHS(msg=False))
    return [j for j in range(n) if model.fac_vars[j].value() > 0.5]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=5000)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--radius-cells", type=float, default=20.0)
    p.add_argument("--mclp-sizes", nargs="*", type=lambda s: int(float(s)), default=[2500],
                   help="demand cells for the spopt MCLP comparison (default: 2500; spopt builds its model "
                        "from a dense matrix in Python, ~20 s here)")
    p.add_argument("--mclp-candidates", type=int, default=100)
    p.add_argument("--mclp-k", type=int, default=10)
    p.add_argument("--mclp-radius-cells", type=float, default=5.0)
    args = parse_args("", [10**6], argv=argv, quick_sizes=[10**5], parser=p)
    res = Results(__file__, anchors=["spopt", "pulp", "highspy", "scipy"], argv=argv, out=args.out)
    rng = np.random.default_rng(0)
    ours_full(50, rng.uniform(0, 50, 5), rng.uniform(0, 50, 5), 3.0, 2)  # compile
    for n in args.sizes:
        side = int(round(n ** 0.5))
        cells = side * side
        cr = rng.uniform(0, side, args.candidates)
        cc = rng.uniform(0, side, args.candidates)
        k = args.k
        t_full = measure(lambda: ours_full(side, cr, cc, args.radius_cells, k), args.repeat)
        indptr, indices = incidence(side, cr, cc, args.radius_cells)
        t_solve = measure(lambda: ours_solve(indptr, indices, cells, k), args.repeat)
        sol = ours_solve(indptr, indices, cells, k)
        weights = np.ones(cells)
        t_lazy = measure(lambda: lazy_greedy(indptr, indices, weights, k), args.repeat)
        ref = lazy_greedy(indptr, indices, weights, k)
        ours_share = covered_share(indptr, indices, list(sol.selected), cells)
        lazy_share = covered_share(indptr, indices, ref, cells)
        on, gnote = goal_applies(n, args.sizes, 10**6, time_goal=True)
        op = f"placement, {args.candidates:,} candidates, k = {k:,}, R = {args.radius_cells:g} cells"
        res.add(op + ", incidence + solve", cells, t_full, goal="<= 30 s" if on else None, goal_s=30.0 if on else None,
                judged=cells >= 10**6, note=gnote, covered_share=round(float(ours_share), 6))
        res.add(op + ", solve", cells, t_solve, anchor="lazy greedy (CELF) in Python/numpy, same incidence",
                anchor_t=t_lazy, covered_share=round(float(ours_share), 6),
                anchor_covered_share=round(float(lazy_share), 6), same_sites=list(sol.selected) == ref)
        gb = args.candidates * cells * 8 / 1e9
        res.add(op + ", solve", cells, t_solve, anchor="spopt MCLP (PuLP + HiGHS)", anchor_t=None,
                note=f"MCLP not run at this size: its dense cost matrix alone needs {gb:,.0f} GB; no ratio")
        del indptr, indices
    for n in args.mclp_sizes:
        side = int(round(n ** 0.5))
        cells = side * side
        m, k = args.mclp_candidates, args.mclp_k
        cr = rng.uniform(0, side, m)
        cc = rng.uniform(0, side, m)
        indptr, indices = incidence(side, cr, cc, args.mclp_radius_cells)
        t_ours = measure(lambda: ours_solve(indptr, indices, cells, k), args.repeat)
        ours_share = covered_share(indptr, indices, list(ours_solve(indptr, indices, cells, k).selected), cells)
        t_mclp = measure(lambda: mclp(indptr, indices, cells, k), args.repeat)
        opt_share = covered_share(indptr, indices, mclp(indptr, indices, cells, k), cells)
        res.add(f"placement, {m:,} candidates, k = {k}, R = {args.mclp_radius_cells:g} cells, solve", cells, t_ours,
                anchor="spopt MCLP (PuLP + HiGHS, optimal)", anchor_t=t_mclp,
                covered_share=round(float(ours_share), 6), anchor_covered_share=round(float(opt_share), 6),
                note=f"greedy reaches {100 * ours_share / opt_share:.2f} % of the optimal coverage")
    res.write()


if __name__ == "__main__":
    sys.exit(main())
