"""``cimtwin`` command: one thin module per subcommand, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cimtwin.errors import CimtwinError

# Subcommand modules, in the order ``cimtwin --help`` lists them.
_COMMANDS = ("demo", "info", "validate", "coverage", "risk", "report", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimtwin",
        description="City-information-model analytics: coverage, routing and risk against the plans' targets.",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"cimtwin.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cimtwin.cli.{name}":
                raise
            continue
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from cimtwin.config import config

    if args.quiet:
        config.progress = False
    try:
        return int(args._run(args) or 0)
    except CimtwinError as exc:
        print(f"cimtwin {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
