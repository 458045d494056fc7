"""The plan-target catalogue: a TOML data file shipped with the package, read into a DataFrame."""

from __future__ import annotations

import ast
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pandas as pd

from cimtwin.errors import SchemaError, ValidationError

__all__ = ["load_catalog", "parse_computation", "Computation", "COMPARATORS", "CATALOG_COLUMNS"]

COMPARATORS = (">=", ">", "=")
CATALOG_COLUMNS = (
    "id", "kind", "zh", "en", "source", "lines", "year", "comparator", "value", "unit",
    "computation", "definition", "table", "flag", "notes",
)
_REQUIRED = ("id", "zh", "en", "source", "lines", "year", "comparator", "value", "unit", "computation")
_UNITS = ("fraction", "count")
_KINDS = ("target", "fact")


@dataclass(frozen=True)
class Computation:
    """A catalogue computation: a function name and its keyword arguments (literals only)."""

    name: str
    kwargs: dict[str, Any]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


def parse_computation(text: str) -> Computation:
    """Parse ``name(key=literal, ...)`` without evaluating anything.

    >>> parse_computation('count(layer="cameras", where="connected")')
    Computation(name='count', kwargs={'layer': 'cameras', 'where': 'connected'})
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValidationError(f"Computation {text!r} is not of the form name(key=value, ...): {exc.msg}.") from exc
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
        raise ValidationError(
            f"Computation {text!r} must be a call with keyword arguments only, e.g. count(layer=\"cameras\")."
        )
    kwargs = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ValidationError(f"Computation {text!r}: `**` arguments are not allowed.")
        try:
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        except ValueError as exc:
            raise ValidationError(
                f"Computation {text!r}: argument {kw.arg!r} must be a literal (string, number, list)."
            ) from exc
    return Computation(node.func.id, kwargs)


def _read_toml(path: str | os.PathLike | None) -> dict[str, Any]:
    if path is None:
        raw = resources.files("cimtwin.targets").joinpath("catalog.toml").read_bytes()
        return tomllib.loads(raw.decode("utf-8"))
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def load_catalog(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The target catalogue as a DataFrame, one row per target, checked.

    Parameters
    ----------
    path
        A catalogue TOML file of your own (same fields, see ``docs/targets.md``); the one
        shipped with cimtwin (Jinan's plans) by default.

    Returns
    -------
    DataFrame
        Columns :data:`CATALOG_COLUMNS`; ``value`` is a float (fractions for ratios).

    Examples
    --------
    >>> cat = load_catalog()
    >>> row = cat.set_index("id").loc["sites_5g_2023"]
    >>> row["comparator"], float(row["value"]), int(row["year"])
    ('>=', 40000.0, 2023)
    """
    data = _read_toml(path)
    rows = data.get("target")
    if not rows:
        raise SchemaError("The catalogue has no [[target]] entries.")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"target #{i + 1} ({row.get('id', '?')!r})"
        missing = [k for k in _REQUIRED if k not in row or row[k] in ("", None)]
        if missing:
            raise SchemaError(f"Catalogue {where} lacks {missing}.")
        if row["id"] in seen:
            raise SchemaError(f"Catalogue {where}: duplicate id.")
        seen.add(row["id"])
        if row["comparator"] not in COMPARATORS:
            raise SchemaError(f"Catalogue {where}: comparator {row['comparator']!r} is not one of {COMPARATORS}.")
        if row["unit"] not in _UNITS:
            raise SchemaError(f"Catalogue {where}: unit {row['unit']!r} is not one of {_UNITS}.")
        if row.get("kind", "target") not in _KINDS:
            raise SchemaError(f"Catalogue {where}: kind {row['kind']!r} is not one of {_KINDS}.")
        if row["unit"] == "fraction" and not 0.0 <= float(row["value"]) <= 1.0:
            raise SchemaError(f"Catalogue {where}: a fraction target must lie in [0, 1]; got {row['value']!r}.")
        parse_computation(row["computation"])
    frame = pd.DataFrame([{c: row.get(c, "target" if c == "kind" else "") for c in CATALOG_COLUMNS}
                          for row in rows])
    frame["value"] = frame["value"].astype(float)
    frame["year"] = frame["year"].astype(int)
    return frame
