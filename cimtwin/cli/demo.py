"""``cimtwin demo --out DIR``: build the embedded Jinan sample, save it, and summarise it."""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm


def add_parser(sub):
    p = sub.add_parser("demo", help="build the Jinan sample model, save it and print a summary")
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    return p


def run(args) -> int:
    from cimtwin.cli.info import describe
    from cimtwin.config import config
    from cimtwin.model.sample import load_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = ["load the Jinan sample", "save the model"]
    with tqdm(total=len(steps), desc="cimtwin demo", disable=not config.progress) as bar:
        bar.set_postfix_str(steps[0])
        model = load_sample("jinan")
        bar.update()
        bar.set_postfix_str(steps[1])
        saved = model.save(out / "jinan.cimtwin")
        bar.update()
    print(describe(model))
    print(f"\nsaved to {saved}")
    return 0
