"""Save and load of a model: the folder store and PostgreSQL/PostGIS, same run.

Rows:

* the Jinan sample (22 layers, 2 rasters of 1.6e6 cells, one table): folder save/load against
  plain pyogrio + rasterio writing/reading the same frames and arrays (no lock, checksums or
  dtype records: the anchor shows what the guarantees cost), and PostGIS save/load against the
  folder store;
* one layer of 10^6 synthetic buildings (squares with height, use, intensity, population, a
  Chinese name): the same four operations, plus the peak memory of the PostGIS load, which
  streams in chunks of 50 000 rows (traced separately from the timed runs).

Needs a PostgreSQL server: ``CIMTWIN_BENCH_PG_URL`` or ``CIMTWIN_TEST_PG_URL`` (a URL to a database
the script may create a database from; ``scripts/pg_local.sh start`` prints one). The script
creates a throwaway database and drops it at the end. Results go to
``benchmarks/results/bench_storage.json``.

    python benchmarks/bench_storage.py [--repeat 3] [--buildings 1000000]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from _common import _portable, machine, size_label

HERE = Path(__file__).resolve().parent


def timed(fn, repeat: int, warmup: int = 1) -> dict[str, float]:
    """Median/min/max wall-clock seconds of ``repeat`` calls after ``warmup`` untimed ones."""
    import gc

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def versions() -> dict[str, str]:
    import geopandas
    import numpy
    import pandas
    import psycopg
    import pyogrio
    import rasterio

    import cimtwin

    out = {"python": platform.python_version(), "cimtwin": cimtwin.__version__, "numpy": numpy.__version__,
           "pandas": pandas.__version__, "geopandas": geopandas.__version__, "pyogrio": pyogrio.__version__,
           "gdal": pyogrio.__gdal_version_string__, "rasterio": rasterio.__version__, "psycopg": psycopg.__version__}
    return out


def server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
        gis = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
    return f"PostgreSQL {pg}, PostGIS {gis}"


def synthetic_buildings(n: int):
    """``n`` building squares on a grid (synthetic), 8-16 m wide, in EPSG:4527 metres."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    rng = np.random.default_rng(20261204)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = 39_500_000 + (i % side) * 25.0
    y0 = 4_050_000 + (i // side) * 25.0
    w = rng.uniform(8, 16, n)
    geoms = shapely.box(x0, y0, x0 + w, y0 + w)
    uses = np.array(["residential", "office", "commercial", "industrial", "school", "hospital"])
    return gpd.GeoDataFrame({
        "height_m": rng.uniform(3, 120, n).round(1),
        "use": pd.Categorical(uses[rng.integers(0, len(uses), n)], categories=uses),
        "fortification_intensity": rng.integers(6, 10, n).astype("int16"),
        "population": rng.integers(0, 400, n),
        "name": np.char.add("楼", (i % 9973).astype(str)).astype(object),
    }, geometry=geoms, crs="EPSG:4527")


def plain_folder_writer(model, folder: Path):
    """The anchor: the same frames and arrays through pyogrio and rasterio, nothing else."""
    import pyogrio
    import rasterio

    from cimtwin.grid.spec import GridSpec
    from cimtwin.io.container import _ogr_geometry_type, prepare_frame

    frames = [prepare_frame(model.layer(n), model.layer(n).geometry.name)[0] for n in model.layer_names]
    types = [_ogr_geometry_type(model.layer(n)) for n in model.layer_names]  # the same options as ours
    tables = [prepare_frame(model.table(n), None)[0] for n in model.table_names]
    rasters = [(model.raster(n).values, GridSpec.from_dataarray(model.raster(n))) for n in model.raster_names]

    def write():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        gpkg = folder / "plain.gpkg"
        for i, f in enumerate(frames):
            pyogrio.write_dataframe(f, gpkg, layer=f"l{i}", append=gpkg.exists(), promote_to_multi=False,
                                    geometry_type=types[i])
        for i, t in enumerate(tables):
            pyogrio.write_dataframe(t, gpkg, layer=f"t{i}", append=gpkg.exists())
        for i, (values, spec) in enumerate(rasters):
            with rasterio.open(folder / f"r{i}.tif", "w", driver="GTiff", height=values.shape[0],
                               width=values.shape[1], count=1, dtype=values.dtype, crs=spec.crs.to_wkt(),
                               transform=spec.transform, compress="deflate",
                               tiled=values.shape[0] >= 256 and values.shape[1] >= 256) as dst:
                dst.write(values, 1)

    def read():
        out = [pyogrio.read_dataframe(folder / "plain.gpkg", layer=f"l{i}", datetime_as_string=True)
               for i in range(len(frames))]
        out += [pyogrio.read_dataframe(folder / "plain.gpkg", layer=f"t{i}", read_geometry=False,
                                       datetime_as_string=True) for i in range(len(tables))]
        for i in range(len(rasters)):
            with rasterio.open(folder / f"r{i}.tif") as src:
                out.append(src.read(1))
        return out

    return write, read


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats per row (default 3)")
    ap.add_argument("--buildings", type=lambda s: int(float(s)), default=1_000_000,
                    help="synthetic buildings in the large layer (default 1e6)")
    ap.add_argument("--out", default=str(HERE / "results" / "bench_storage.json"))
    args = ap.parse_args(argv)

    import psycopg
    from psycopg import sql

    import cimtwin
    from cimtwin.model import CityModel

    admin = os.environ.get("CIMTWIN_BENCH_PG_URL") or os.environ.get("CIMTWIN_TEST_PG_URL")
    if not admin:
        print("set CIMTWIN_BENCH_PG_URL (scripts/pg_local.sh start prints a URL)", file=sys.stderr)
        return 2
    load_before = load_average()
    print(machine())
    print(f"load average before: {load_before}")
    db = f"cimtwin_bench_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    base = admin.rsplit("/", 1)[0].split("?")[0] + "/" + db
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
        conn.execute("CREATE EXTENSION postgis_raster")
    info = versions()
    info["server"] = server_version(base)
    print(info)
    tmp = Path(tempfile.mkdtemp(prefix="cimtwin-bench-"))
    rows = []

    def row(op, size, ours, anchor=None, anchor_t=None, goal=None, note=None):
        ratio = ours["median_s"] / anchor_t["median_s"] if anchor_t else None
        # time goals are "ours <= k x the anchor" on the medians ("same order" judged as <= 3x)
        limit = 1.5 if goal and "1.5x" in goal else 3.0 if goal and "same order" in goal else None
        r = {"op": op, "size": size, "ours": ours, "anchor": anchor, "anchor_t": anchor_t, "ratio": ratio,
             "goal": goal, "goal_ratio": limit, "goal_s": None, "met": None if limit is None or ratio is None else ratio <= limit,
             "note": note}
        rows.append(r)
        print(f"{op:34} {size:>10}  ours {ours['median_s']:8.3f} s (min {ours['min_s']:.3f}, max "
              f"{ours['max_s']:.3f})" + (f"  {anchor}: {anchor_t['median_s']:8.3f} s  ratio {ratio:.2f}"
                                         if anchor_t else ""), flush=True)

    try:
        cimtwin.config.progress = False
        sample = cimtwin.load_sample("jinan")
        n_feat = sum(len(sample.layer(n)) for n in sample.layer_names)
        size = f"{n_feat} features, 2 x {sample.raster('dem').size} cells"
        folder = tmp / "jinan.cimtwin"
        url = f"{base}?schema=jinan"
        write_plain, read_plain = plain_folder_writer(sample, tmp / "plain")
        t_plain_w = timed(write_plain, args.repeat)
        t_folder_w = timed(lambda: sample.save(folder), args.repeat)
        row("jinan: folder save", size, t_folder_w, "pyogrio+rasterio write", t_plain_w,
            "the guarantees (lock, fsync, sha256, dtype records) cost <= 1.5x the bare write",
            "ratio = ours / anchor")
        t_plain_r = timed(read_plain, args.repeat)
        t_folder_r = timed(lambda: cimtwin.read_model(folder), args.repeat)
        row("jinan: folder load (verify)", size, t_folder_r, "pyogrio+rasterio read", t_plain_r,
            "<= 1.5x the bare read", "ratio = ours / anchor; includes sha256 of every file")
        t_pg_w = timed(lambda: sample.save(url), args.repeat)
        row("jinan: PostGIS save (one version)", size, t_pg_w, "folder save", t_folder_w,
            "same order as the folder", "ratio = PostGIS / folder; each call commits a new version")
        t_pg_r = timed(lambda: cimtwin.read_model(url), args.repeat)
        row("jinan: PostGIS load (newest)", size, t_pg_r, "folder load", t_folder_r,
            "same order as the folder", "ratio = PostGIS / folder")

        n = args.buildings
        t0 = time.perf_counter()
        big = CityModel.from_layers({"buildings": synthetic_buildings(n)}, crs="EPSG:4527",
                                    metadata={"name": "synthetic buildings", "synthetic": ["buildings"]})
        print(f"built {n} synthetic buildings in {time.perf_counter() - t0:.1f} s (untimed)", flush=True)
        big_folder = tmp / "big.cimtwin"
        big_url = f"{base}?schema=big"
        size = size_label(n) + " buildings"
        write_plain, read_plain = plain_folder_writer(big, tmp / "plain_big")
        t_plain_w = timed(write_plain, args.repeat, warmup=0)
        t_folder_w = timed(lambda: big.save(big_folder), args.repeat, warmup=0)
        row("buildings: folder save", size, t_folder_w, "pyogrio write", t_plain_w,
            "<= 1.5x the bare write", "ratio = ours / anchor")
        t_plain_r = timed(read_plain, args.repeat, warmup=0)
        t_folder_r = timed(lambda: cimtwin.read_model(big_folder), args.repeat, warmup=0)
        row("buildings: folder load (verify)", size, t_folder_r, "pyogrio read", t_plain_r,
            "<= 1.5x the bare read", "ratio = ours / anchor")
        t_pg_w = timed(lambda: big.save(big_url), args.repeat, warmup=0)
        row("buildings: PostGIS save", size, t_pg_w, "folder save", t_folder_w, "same order as the folder",
            "ratio = PostGIS / folder; COPY + GiST index, one transaction")
        t_pg_r = timed(lambda: cimtwin.read_model(big_url), args.repeat, warmup=0)
        cimtwin.config.progress = True  # the streamed load's progress bar, shown once
        tracemalloc.start()
        back = cimtwin.read_model(big_url)
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cimtwin.config.progress = False
        del back
        note = (f"streams 50,000-row chunks; traced memory: the result holds {held / 2**20:.0f} MiB, the peak "
                f"during the load was {peak / 2**20:.0f} MiB ({(peak - held) / 2**20:.0f} MiB transient: one "
                "chunk of rows plus the final column copies); GEOS geometries are outside tracemalloc; "
                "ratio = PostGIS / folder")
        row("buildings: PostGIS load (streamed)", size, t_pg_r, "folder load", t_folder_r,
            "bounded memory: transient <= one chunk + one copy of the columns", note)
        print(note)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
    result = {"script": "benchmarks/bench_storage.py", "command": shlex.join(["python", "benchmarks/bench_storage.py",
                                                                             *_portable(sys.argv[1:])]),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "versions": info,
              "load_before": load_before, "load_after": load_average(), "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"load average after: {result['load_after']}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
