"""``cimtwin info PATH|URL``: layers, feature counts, CRS and extent of a saved model (and its versions)."""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, is_url, open_model


def add_parser(sub):
    p = sub.add_parser("info", help="layers, feature counts, CRS and extent of a model")
    add_model_argument(p)
    return p


def describe(model) -> str:
    xmin, ymin, xmax, ymax = model.bounds
    lines = [
        f"model   {model.name}",
        f"crs     {model.crs.name} ({model.crs.to_string()})",
        f"extent  x {xmin:,.0f} … {xmax:,.0f} m, y {ymin:,.0f} … {ymax:,.0f} m "
        f"({(xmax - xmin) / 1000:.1f} × {(ymax - ymin) / 1000:.1f} km)",
        "",
    ]
    table = model.summary()
    # A raster has cells and a table rows, not features: say which, with the unit.
    unit = table["type"].map({"vector": "features", "raster": "cells", "table": "rows"}).fillna("")
    table["count"] = [f"{n:,} {u}" for n, u in zip(table["features"], unit)]
    table = table.drop(columns="features")[["name", "kind", "type", "count", "geometry", "synthetic"]]
    lines.append(table.to_string(index=False))
    return "\n".join(lines)


def run(args) -> int:
    model = open_model(args.path)
    if is_url(args.path):
        from cimtwin.io.postgis import list_versions, parse_url

        p = parse_url(args.path)
        versions = list_versions(args.path)["version"].tolist()
        shown = p["version"] if p["version"] is not None else versions[-1]
        print(f"store   {p['display']} (version {shown} of {len(versions)}: {versions})")
    print(describe(model))
    return 0
