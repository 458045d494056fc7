"""What several subcommands share: opening the model a PATH names (the sample by default)."""

from __future__ import annotations

from pathlib import Path


def add_model_argument(parser) -> None:
    parser.add_argument("path", nargs="?", default=None,
                        help="saved model folder (default: the embedded Jinan sample)")


def open_model(path: str | None):
    """The model saved at ``path``, or the Jinan sample when ``path`` is None."""
    if path is None:
        from cimtwin.model.sample import load_sample

        return load_sample("jinan")
    from cimtwin.model.city import read_model

    return read_model(Path(path))
