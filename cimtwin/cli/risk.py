"""``cimtwin risk [PATH] --out DIR``: flood, seismic and composite risk zones of a model."""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, open_model


def add_parser(sub):
    p = sub.add_parser("risk", help="waterlogging, seismic and composite risk zones, by district",
                       description="Write risk_zones.gpkg (class 1-5, 5 = highest), summary_by_district.csv, "
                                   "flood and seismic GeoTIFFs, flooded roads and the access they cost.")
    add_model_argument(p)
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--method", choices=("natural_breaks", "quantiles", "fixed"), default="natural_breaks",
                   help="classification of the composite score (default: %(default)s)")
    p.add_argument("--bins", type=float, nargs=4, metavar="B", default=None,
                   help="four upper bounds of classes 1-4 for --method fixed (score in [0, 1])")
    p.add_argument("--weights", default=None,
                   help="factor weights as name=value pairs, e.g. ponding=0.4,seismic=0.3,population=0.3 "
                        "(factors: ponding, low_terrain, seismic, population; normalized to sum 1 with a warning)")
    p.add_argument("--rain", choices=("auto", "gauges", "design_storm"), default="auto",
                   help="rainfall source (default: design storm when the model has one, else gauges)")
    p.add_argument("--no-closures", action="store_true", help="skip routing the flooded-road closures")
    p.add_argument("--chunks", type=int, default=None, metavar="CELLS",
                   help="open the DEM lazily in square chunks of CELLS cells and run the flood chain tile by "
                        "tile, for DEMs larger than memory (model folders only; default: read it whole)")
    return p


def _parse_weights(text):
    from cimtwin.errors import ValidationError
    from cimtwin.risk.pipeline import check_weights

    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValidationError(f"--weights: {item!r} is not name=value.") from None
        if not sep:
            raise ValidationError(f"--weights: {item!r} is not name=value.")
    try:
        return check_weights(out)
    except ValidationError as exc:
        raise ValidationError(f"--weights: {exc}") from None


def run(args) -> int:
    from cimtwin.risk.pipeline import risk_zoning

    weights = _parse_weights(args.weights)  # refuse a misspelt factor before reading anything
    model = open_model(args.path, dem_chunks=args.chunks)
    result = risk_zoning(model, weights=weights, method=args.method, bins=args.bins,
                         rain_source=args.rain, close_roads=not args.no_closures)
    written = result.write(args.out)
    vol = result.flood.volumes_m3
    print(f"risk zones of {model.name}: {len(result.zones)} polygons, weights {result.notes['weights']}")
    print(f"flood: runoff {vol['runoff']:,.0f} m³ = ponded {vol['ponded']:,.0f} + outflow {vol['outflow']:,.0f}; "
          f"{result.notes.get('flooded_roads', 0)} roads ponded > 0.15 m")
    if "buildings_below_fortification" in result.notes:
        print(f"seismic: {result.notes['buildings_below_fortification']} buildings below required fortification")
    for path in written:
        print(f"wrote {path}")
    return 0
