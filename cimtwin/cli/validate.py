"""``cimtwin validate PATH``: schema report of a model; exit status 1 when it has errors."""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, open_model


def add_parser(sub):
    p = sub.add_parser("validate", help="check every layer and raster against its schema")
    add_model_argument(p)
    return p


def run(args) -> int:
    report = open_model(args.path).validate()
    for note in report.notes:
        print(f"ok     {note}")
    for err in report.errors:
        print(f"ERROR  {type(err).__name__}: {err}")
    print(f"{len(report.errors)} error(s)")
    return 0 if report.ok else 1
