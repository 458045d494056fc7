"""What several subcommands share: opening the model a PATH or URL names (the sample by default)."""

from __future__ import annotations

from pathlib import Path

MODEL_HELP = ("saved model folder, or postgresql://user@host:port/db?schema=NAME[&version=N] "
              "(default: the embedded Jinan sample)")


def add_model_argument(parser) -> None:
    parser.add_argument("path", nargs="?", default=None, help=MODEL_HELP)


def is_url(path: str | None) -> bool:
    """True for a PostgreSQL model URL (``postgresql://`` or ``postgres://``)."""
    from cimtwin.io.postgis import is_model_url

    return is_model_url(path)


def open_model(path: str | None, *, dem_chunks: int | None = None):
    """The model saved at ``path`` (a folder or a PostgreSQL URL), or the Jinan sample when None.

    ``dem_chunks`` opens the DEM lazily in chunks of that many cells (``--chunks``).
    """
    from cimtwin.model.city import read_model

    if path is None:
        from cimtwin.model.sample import sample_path

        return read_model(sample_path("jinan"), dem_chunks=dem_chunks)
    return read_model(path if is_url(path) else Path(path), dem_chunks=dem_chunks)


def check_output_folder(out: str | Path) -> Path:
    """``--out``: a folder that exists or can be made, and is writable; else a one-line error.

    Raises ``ContainerError`` (exit status 2 in the CLI) for a path that is a file, a folder that
    cannot be created, or one without write permission.
    """
    import os

    from cimtwin.errors import ContainerError

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ContainerError(f"--out {str(out)!r} is a file; give a folder (it is created when missing).")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ContainerError(f"--out {str(out)!r} cannot be created: {str(probe)!r} is a file.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ContainerError(f"--out {str(out)!r} is not writable (permission denied on {str(probe)!r}); "
                             "choose a folder you can write to.")
    return out
