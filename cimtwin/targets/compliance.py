"""The whole compliance run of a model: plan targets, flood and seismic risk, shelter access.

:func:`compliance_run` is what ``cimtwin evaluate PATH --out DIR`` runs. Each stage is timed
with the peak resident memory of the process after it (:class:`StageTimer`), so a city-scale
run says where its minutes and gigabytes go.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cimtwin.io.tables import write_csv

__all__ = ["StageTimer", "ComplianceRun", "compliance_run", "peak_rss_mb"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (``getrusage``'s ``ru_maxrss``).

    Examples
    --------
    >>> peak_rss_mb() > 0
    True
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes
    return peak / 1024.0 if sys.platform != "darwin" else peak / 2**20


@dataclass
class StageTimer:
    """Wall time and peak memory of named stages.

    Examples
    --------
    >>> timer = StageTimer()
    >>> with timer.stage("sum"):
    ...     total = sum(range(1000))
    >>> list(timer.table()["stage"])
    ['sum', 'total']
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str):
        """Time the block; record its seconds and the peak RSS after it."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.rows.append({"stage": name, "seconds": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mb()})

    def table(self) -> pd.DataFrame:
        """One row per stage plus a ``total`` row (wall time since the timer was made)."""
        rows = list(self.rows)
        rows.append({"stage": "total", "seconds": time.perf_counter() - self.started, "peak_rss_mb": peak_rss_mb()})
        return pd.DataFrame(rows, columns=["stage", "seconds", "peak_rss_mb"])

    def format(self) -> str:
        """The stage table as text, with a header that names the peak memory."""
        t = self.table()
        lines = [f"{'stage':<28}{'seconds':>10}{'peak RSS (MB)':>16}"]
        for r in t.itertuples():
            lines.append(f"{r.stage:<28}{r.seconds:>10.1f}{r.peak_rss_mb:>16.0f}")
        return "\n".join(lines)


@dataclass
class ComplianceRun:
    """What :func:`compliance_run` computed and wrote."""

    targets: pd.DataFrame
    risk: Any
    shelter_access: pd.DataFrame | None
    timer: StageTimer
    written: list[Path]
    notes: dict[str, Any] = field(default_factory=dict)


def compliance_run(model, *, out: str | os.PathLike, year: int | None = None, shelters: bool = True,
                   risk: bool = True, close_roads: bool = False, max_snap_m: float = 500.0,
                   timer: StageTimer | None = None) -> ComplianceRun:
    """Run every catalogue target, the flood chain, seismic zoning and shelter access; write the results.

    Parameters
    ----------
    model
        A :class:`~cimtwin.model.CityModel`, or the path or URL of a saved one.
    out
        Output folder (created): ``targets.csv``, ``target_seconds.csv`` (each target's
        computation time: the profile of the plan-targets stage), ``stages.csv``, the risk files of
        :meth:`cimtwin.risk.RiskResult.write` and ``shelter_access.csv``.
    year
        Only the targets due in this year (all by default).
    shelters, risk
        Run the shelter-access and risk stages (both by default).
    close_roads
        Also route around flooded roads in the risk stage (off by default: on a city-wide
        road graph it is a separate question per closure).
    max_snap_m
        Largest distance from a building or shelter to the road network, metres; farther
        points get a ``status`` instead of a distance.
    timer
        A :class:`StageTimer` to add the stages to (the CLI adds its report stage after).

    Returns
    -------
    ComplianceRun

    Examples
    --------
    >>> run = compliance_run("city.cimtwin", out="evaluation")        # doctest: +SKIP
    >>> print(run.timer.format())                                      # doctest: +SKIP
    """
    from cimtwin.model.city import CityModel, read_model
    from cimtwin.targets.evaluate import run_targets

    timer = timer if timer is not None else StageTimer()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not isinstance(model, CityModel):
        with timer.stage("load model"):
            model = read_model(model)
    with timer.stage("plan targets"):
        targets_run = run_targets(model, year, geometries=False)  # the same figures; no gap polygons
        # the table and timings go on; each target's raw result (a copy of its coverage grid:
        # gigabytes at 10^8 cells) is let go before the next stage
        table, seconds = targets_run.table, targets_run.seconds
        del targets_run
        # so are the fields and viewsheds the targets shared through the model's cache
        model.forget_derived()
        path = out / "targets.csv"
        write_csv(table, path)
        written.append(path)
        path = out / "target_seconds.csv"
        seconds = pd.DataFrame(list(seconds.items()), columns=["target_id", "seconds"])
        write_csv(seconds.sort_values("seconds", ascending=False), path)
        written.append(path)
    # shelter access before risk: the risk rasters (a dozen grids of the DEM's size) are
    # written and can be let go without sitting in memory through the routing stages
    access = None
    if shelters and model.has_layer("shelters") and model.has_layer("buildings") and model.has_layer("roads"):
        access = _shelter_access(model, timer=timer, max_snap_m=max_snap_m)
        path = out / "shelter_access.csv"
        write_csv(access, path)
        written.append(path)
    risk_result = None
    if risk and model.has_raster("dem"):
        from cimtwin.risk.pipeline import risk_zoning

        with timer.stage("flood + seismic risk"):
            # the zones as the class raster (written); their polygons are `cimtwin risk`'s.
            # Each raster goes to its file as soon as it is final (a city's dozen grids
            # are never all in memory); the write below adds the tables and vectors.
            risk_result = risk_zoning(model, close_roads=close_roads, zone_polygons=False, write_to=out / "risk")
        with timer.stage("write risk"):
            written += risk_result.write(out / "risk")
    path = out / "stages.csv"
    write_csv(timer.table(), path)
    written.append(path)
    return ComplianceRun(targets=table, risk=risk_result, shelter_access=access, timer=timer, written=written)


def _shelter_access(model, *, timer: StageTimer, max_snap_m: float) -> pd.DataFrame:
    """Network distance from every building to its nearest shelter."""
    import geopandas as gpd

    from cimtwin.routing import RoadNetwork, nearest_facility

    with timer.stage("road network"):
        net = RoadNetwork.from_model(model)
    with timer.stage("shelter access"):
        buildings = model.layer("buildings")
        points = gpd.GeoDataFrame(geometry=buildings.geometry.centroid, crs=buildings.crs, index=buildings.index)
        access = nearest_facility(points, model.layer("shelters"), network=net, max_snap_m=max_snap_m)
    return pd.DataFrame(access.drop(columns="geometry", errors="ignore"))
