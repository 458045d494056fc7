"""``cimtwin report [PATH] --out DIR``: where the city stands against its plans, for the leadership.

Parses the arguments, calls :func:`cimtwin.viz.report.build_report` and prints the files it
wrote; the report itself (targets, maps, Excel) is built by the library.
"""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, open_model


def add_parser(sub):
    p = sub.add_parser("report", help="compliance report against the plans' targets: HTML, Markdown, maps, Excel")
    add_model_argument(p)
    p.add_argument("--out", default="report_out", help="output folder (default: report_out)")
    p.add_argument("--scenario", default=None, metavar="PATH2",
                   help="a second saved model (e.g. with planned cameras) to compare before/after")
    p.add_argument("--year", type=int, default=None, help="only the targets due in this year (2021/2022/2023/2025)")
    p.add_argument("--no-risk", action="store_true", help="skip the risk zoning (faster)")
    return p


def run(args) -> int:
    from cimtwin.viz.report import build_report

    model = open_model(args.path)
    scenario = open_model(args.scenario) if args.scenario else None
    report = build_report(model, args.out, scenario=scenario, year=args.year, risk=not args.no_risk)
    for path in report.files:
        print(path)
    for note in report.notes:
        print(f"note: {note}")
    return 0
