"""Placement: lazy greedy maximal covering, 5,000 candidates × 1e6 demand cells (target ≤ 30 s).

Anchor: the same greedy done the usual way, a scipy sparse incidence matrix and a full gain
recomputation (one sparse mat-vec) per pick. Both pick the same sites.

    python benchmarks/bench_placement.py [--sizes 1e6] [--repeat 3] [--candidates 5000] [--k 1000]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import machine, report, size_label, timeit

sys.path.insert(0, ".")


def ours(rows, cols, cand_r, cand_c, radius, k):
    from cimtwin.coverage import SitePlacement
    from cimtwin.kernels.placement import disk_incidence

    demand_index = np.arange(rows * cols, dtype=np.int64)
    indptr, indices = disk_incidence(rows, cols, demand_index, cand_r, cand_c, np.full(len(cand_r), radius))
    p = SitePlacement.from_incidence(indptr=indptr, indices=indices, weights=np.ones(rows * cols)).solve(k=k)
    return p


def anchor(rows, cols, cand_r, cand_c, radius, k):
    import scipy.sparse as sp

    from cimtwin.kernels.placement import disk_incidence

    demand_index = np.arange(rows * cols, dtype=np.int64)
    indptr, indices = disk_incidence(rows, cols, demand_index, cand_r, cand_c, np.full(len(cand_r), radius))
    a = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(cand_r), rows * cols))
    uncovered = np.ones(rows * cols)
    chosen = []
    for _ in range(k):
        gains = a @ uncovered
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        chosen.append(best)
        uncovered[indices[indptr[best]:indptr[best + 1]]] = 0.0
    return chosen


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", nargs="+", type=lambda s: int(float(s)), default=[1_000_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--candidates", type=int, default=5000)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--radius-cells", type=float, default=20.0)
    args = p.parse_args(argv)
    print(machine())
    rng = np.random.default_rng(0)
    rows_out = []
    small = 2000
    ours(50, 50, rng.uniform(0, 50, 5), rng.uniform(0, 50, 5), 3.0, 2)  # compile
    for n in args.sizes:
        side = int(round(n ** 0.5))
        cr = rng.uniform(0, side, args.candidates)
        cc = rng.uniform(0, side, args.candidates)
        t = timeit(lambda: ours(side, side, cr, cc, args.radius_cells, args.k), args.repeat)
        res = ours(side, side, cr, cc, args.radius_cells, args.k)
        ta = timeit(lambda: anchor(side, side, cr, cc, args.radius_cells, args.k), 1)
        same = list(res.selected) == anchor(side, side, cr, cc, args.radius_cells, args.k) if n <= small ** 2 else None
        rows_out.append({"op": "placement lazy greedy", "demand": size_label(side * side),
                         "candidates": args.candidates, "k": args.k, "ratio_after": round(res.ratio_after, 4),
                         "evaluations": res.evaluations, "cimtwin_s": t, "anchor_s": ta, "same_sites": same})
    report(rows_out)


if __name__ == "__main__":
    main()
