"""``cimtwin demo --out DIR``: the main job on the embedded Jinan sample.

Loads the sample, saves it, prints its summary, then measures every plan target the sample
can answer and writes the compliance table.
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("demo", help="build the Jinan sample, save it and check it against the plan targets")
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    p.add_argument("--no-targets", action="store_true", help="only build, save and summarise the model")
    return p


def format_targets(table) -> str:
    """City-wide rows of the compliance table, ratios as percentages, each with what it was
    computed under (definition and clip, parameters, data)."""
    import pandas as pd

    rows = table[table["zone"] == "all"]
    lines = [f"{'target':34} {'year':>4} {'value':>12} {'target':>12}  met"]
    for r in rows.itertuples():
        if r.value is None or r.value != r.value:  # NaN: not computable on this model
            lines.append(f"{r.target_id:34} {r.year:>4} {'—':>12} {_fmt(r.target, r.unit):>12}  "
                         f"n/a ({r.reason})")
            continue
        met = "n/a" if pd.isna(r.met) else ("yes" if bool(r.met) else "no")
        unknown = (f"  ({100 * r.unknown_share:.1f} % unknown, left out)"
                   if getattr(r, "unknown_share", 0) and r.unknown_share == r.unknown_share else "")
        lines.append(f"{r.target_id:34} {r.year:>4} {_fmt(r.value, r.unit):>12} "
                     f"{r.comparator}{_fmt(r.target, r.unit):>11}  {met}{unknown}")
        lines.append(f"    definition: {r.definition}")
        lines.append(f"    parameters: {r.parameters or '—'}; data: {r.data or '—'}")
    return "\n".join(lines)


def _fmt(value, unit) -> str:
    if unit == "fraction":
        return f"{100 * float(value):.1f}%"
    return f"{float(value):,.0f}"


def run(args) -> int:
    from tqdm.auto import tqdm

    from cimtwin.cli.info import describe
    from cimtwin.config import config
    from cimtwin.model.sample import load_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=2, desc="Jinan sample", disable=not config.progress) as bar:
        bar.set_postfix_str("load")
        model = load_sample("jinan")
        bar.update()
        bar.set_postfix_str("save")
        saved = model.save(out / "jinan.cimtwin")
        bar.update()
    print(describe(model))
    print(f"\nsaved to {saved}")
    if args.no_targets:
        return 0
    from cimtwin.io.tables import write_csv
    from cimtwin.targets import evaluate

    table = evaluate(model)
    write_csv(table, out / "targets.csv")
    print("\nPlan targets on the sample (synthetic sensors, real districts; city-wide rows):")
    print(format_targets(table))
    print(f"\ncompliance table: {out / 'targets.csv'}")
    return 0
