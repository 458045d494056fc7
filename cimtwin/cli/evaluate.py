"""``cimtwin evaluate PATH --out DIR``: the whole compliance run of a model, with a stage table."""

from __future__ import annotations

from cimtwin.cli._common import add_model_argument, open_model


def add_parser(sub):
    p = sub.add_parser("evaluate", help="every plan target, flood and seismic risk, shelter access, report",
                       description="Run the whole compliance check of a model and print how long each stage "
                                   "took and the peak memory. Writes targets.csv, risk/, shelter_access.csv, "
                                   "stages.csv and the report.")
    add_model_argument(p)
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--year", type=int, default=None, help="only the targets due in this year")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report and map")
    p.add_argument("--no-risk", action="store_true", help="skip the flood and seismic risk stage")
    p.add_argument("--no-shelters", action="store_true", help="skip the shelter-access stage")
    return p


def run(args) -> int:
    from cimtwin.cli._common import check_output_folder
    from cimtwin.io.tables import write_csv
    from cimtwin.targets.compliance import StageTimer, compliance_run

    check_output_folder(args.out)
    timer = StageTimer()
    with timer.stage("load model"):
        model = open_model(args.path)
    # only the targets table goes on: the risk rasters are written, and letting them go
    # keeps a city-scale run's report stage from holding them
    targets = compliance_run(model, out=args.out, year=args.year, risk=not args.no_risk,
                             shelters=not args.no_shelters, timer=timer).targets
    if not args.no_report:
        from pathlib import Path

        from cimtwin.viz.report import build_report

        with timer.stage("report"):
            build_report(model, Path(args.out) / "report", year=args.year, risk=False,
                         targets=targets)
    computed = targets[(targets["zone"] == "all") & targets["value"].notna()]
    print(f"{model.name}: {len(computed)} of {targets['target_id'].nunique()} targets computed")
    print(timer.format())
    write_csv(timer.table(), f"{args.out}/stages.csv")
    return 0
