"""``cimtwin info PATH``: layers, feature counts, CRS and extent of a saved model."""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, open_model


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
    lines.append(table.to_string(index=False))
    return "\n".join(lines)


def run(args) -> int:
    print(describe(open_model(args.path)))
    return 0
