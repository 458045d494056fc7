"""The cimtwin error family.

Every error cimtwin raises on bad input is a :class:`CimtwinError`, and each one also
subclasses the builtin a Python user would catch (``ValueError``, ``KeyError``,
``TypeError``), so ``except ValueError`` keeps working.

Messages follow one template: what is wrong, where (layer, column, feature ids), and
how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CimtwinError",
    "ValidationError",
    "SchemaError",
    "GeometryError",
    "CRSError",
    "GeographicCRSError",
    "GridAlignmentError",
    "NodataError",
    "LayerNotFoundError",
    "InputTypeError",
    "OptionalDependencyError",
    "BackendUnavailableError",
    "SolverError",
    "ContainerError",
    "CimtwinWarning",
]


class CimtwinError(Exception):
    """Base class of every error cimtwin raises on purpose."""


class ValidationError(CimtwinError, ValueError):
    """A value is outside what the computation accepts."""


class SchemaError(ValidationError):
    """A layer lacks a required column, has a mistyped column or a wrong geometry type."""


class GeometryError(ValidationError):
    """Geometries are invalid or empty where they must not be."""


class CRSError(ValidationError):
    """A CRS is missing or cannot be used."""


class GeographicCRSError(CRSError):
    """A metric computation was given a geographic (degree) CRS."""


class GridAlignmentError(ValidationError):
    """A raster does not share the model's grid (shape, transform or CRS)."""


class NodataError(ValidationError):
    """A raster holds no valid data where data is needed."""


class LayerNotFoundError(CimtwinError, KeyError):
    """A layer (or a named feature) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InputTypeError(CimtwinError, TypeError):
    """An argument has the wrong type."""


class OptionalDependencyError(CimtwinError, ImportError):
    """An optional package is needed for this call."""


class BackendUnavailableError(CimtwinError, RuntimeError):
    """The requested compute backend is not available on this machine."""


class SolverError(CimtwinError, RuntimeError):
    """An optimisation or search could not produce an answer."""


class ContainerError(CimtwinError, OSError):
    """A saved model cannot be read or written: missing, damaged, foreign or locked by a conflict.

    Also importable as ``cimtwin.io.container.ContainerError`` (the same class). The message
    names the folder, file or database and says how to fix it.
    """

    def __str__(self) -> str:  # OSError would format (errno, strerror) pairs
        return str(self.args[0]) if self.args else ""


class CimtwinWarning(UserWarning):
    """Base class of cimtwin's warnings."""
