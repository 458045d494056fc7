"""``cimtwin`` command: one thin module per subcommand, each with ``add_parser`` and ``run``.

Exit status: 0 success (a target reported n/a with its reason is a success), 1 findings
(``cimtwin validate`` found schema errors), 2 usage, input/output or damaged-model errors,
each reported in one line without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from cimtwin.errors import CimtwinError

# Subcommand modules, in the order ``cimtwin --help`` lists them.
_COMMANDS = ("demo", "info", "validate", "coverage", "risk", "report", "evaluate")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cimtwin",
        description="City-information-model analytics: coverage, routing and risk against the plans' targets.",
        epilog="Exit status: 0 success, 1 validation findings, 2 usage, input/output or damaged-model errors.",
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
        # also after the subcommand, as users type it; SUPPRESS keeps `cimtwin --quiet CMD` from being reset
        p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
        p.set_defaults(_run=module.run)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _os_message(exc: OSError) -> str:
    what = exc.strerror or _one_line(exc)
    where = f" {str(exc.filename)!r}" if getattr(exc, "filename", None) else ""
    if isinstance(exc, FileNotFoundError):
        return f"{where.strip() or 'a file'} does not exist ({what})"
    return f"cannot use{where}: {what}"


def _warning_printer(command: str):
    """Warnings as one line each on stderr, without the library's file and source line."""

    def show(message, category, filename, lineno, file=None, line=None):
        from cimtwin.errors import CimtwinWarning

        kind = "" if issubclass(category, CimtwinWarning) else f" ({category.__name__})"
        print(f"cimtwin {command}: warning{kind}: {_one_line(message) if isinstance(message, Warning) else message}",
              file=sys.stderr if file is None else file)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from cimtwin.config import config

    if args.quiet:
        config.progress = False
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(args.command)
        return _run(args)


def _run(args) -> int:
    try:
        if getattr(args, "out", None) is not None:
            from cimtwin.cli._common import check_output_folder

            check_output_folder(args.out)
        return int(args._run(args) or 0)
    except CimtwinError as exc:
        print(f"cimtwin {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # unwritable --out, a vanished file, a full disk: the user's to fix, no traceback
        print(f"cimtwin {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"cimtwin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
