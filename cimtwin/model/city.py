"""CityModel: every layer a planner has, in one projected CRS, validated, saved without loss."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimtwin._validate import close_matches
from cimtwin.errors import GridAlignmentError, InputTypeError, LayerNotFoundError, ValidationError
from cimtwin._crs import model_crs
from cimtwin.model.schema import LAYER_SCHEMAS
from cimtwin.model.validation import layer_kind, validate_layer, validate_raster

__all__ = ["CityModel", "read_model"]


class CityModel:
    """A city model: named vector layers, rasters on one grid, tables and metadata, one CRS.

    Build one with :meth:`from_layers` (your own data) or :func:`cimtwin.load_sample`; a
    model is immutable: :meth:`with_layer` and friends return a new model, so a scenario
    (before/after a set of new cameras) is two models side by side.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> import cimtwin
    >>> districts = gpd.GeoDataFrame({"name": ["历下区"]},
    ...     geometry=[shapely.box(117.0, 36.6, 117.2, 36.7)], crs="EPSG:4326")
    >>> model = cimtwin.CityModel.from_layers({"districts": districts})
    >>> model.crs.to_epsg(), model.layer_names
    (4527, ['districts'])
    """

    def __init__(self, *, crs, layers: Mapping[str, Any], rasters: Mapping[str, Any],
                 tables: Mapping[str, pd.DataFrame], metadata: Mapping[str, Any], kinds: Mapping[str, str | None]):
        # Internal: use from_layers / read_model. Everything given here is already validated.
        self._crs = crs
        self._layers = dict(layers)
        self._rasters = dict(rasters)
        self._tables = dict(tables)
        self._metadata = copy.deepcopy(dict(metadata))
        self._kinds = dict(kinds)
        # results derived from this (immutable) content, shared by analyses: see `derived`
        self._derived: dict[tuple, Any] = {}

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_layers(cls, layers: Mapping[str, Any], *, rasters: Mapping[str, Any] | None = None,
                    tables: Mapping[str, pd.DataFrame] | None = None, crs: Any = None,
                    metadata: Mapping[str, Any] | None = None, kinds: Mapping[str, str] | None = None,
                    repair: bool = False) -> CityModel:
        """Build a model from GeoDataFrames (any CRS) and DataArrays.

        Parameters
        ----------
        layers
            ``{name: GeoDataFrame}``; a known name (``"cameras"``, ``"roads"`` …, see
            :data:`cimtwin.model.LAYER_SCHEMAS`) or ``<kind>_<suffix>`` gets that kind's schema.
        rasters
            ``{name: DataArray}`` on one grid in the model's CRS (``dem``, ``population``).
        tables
            Non-spatial tables, e.g. ``gauge_observations`` (gauge_id, time, rain_mm).
        crs
            A projected CRS; by default the CGCS2000 3-degree Gauss–Krüger zone of the extent.
        metadata
            Name, sources, ``synthetic`` (list of synthetic layers), scenario, plan year,
            design-storm parameters.
        kinds
            Schema kind for layers whose name is not a kind.
        repair
            Fix invalid geometries with ``shapely.make_valid`` instead of raising.
        """
        if not isinstance(layers, Mapping):
            raise InputTypeError(f"`layers` must be a dict of name → GeoDataFrame; got {type(layers).__name__}.")
        rasters = dict(rasters or {})
        if not layers and not rasters:
            raise ValidationError("A model needs at least one layer or raster.")
        kinds = dict(kinds or {})
        for name in layers:
            if not isinstance(name, str) or not name:
                raise InputTypeError(f"Layer names must be non-empty strings; got {name!r}.")
        for name, gdf in layers.items():
            if getattr(gdf, "crs", "absent") is None:  # before choosing a CRS from the extent
                validate_layer(name, gdf)
        crs = model_crs(crs, _lonlat_bounds(layers, rasters) if crs is None else None)
        checked = {}
        resolved_kinds = {}
        for name, gdf in layers.items():
            resolved_kinds[name] = layer_kind(name, kinds.get(name))
            checked[name] = validate_layer(name, gdf, crs=crs, kind=resolved_kinds[name], repair=repair)
            _check_storable_layer(name, checked[name])
        model = cls(crs=crs, layers=checked, rasters={}, tables={}, metadata=metadata or {}, kinds=resolved_kinds)
        for name, da in rasters.items():
            model = model.with_raster(name, da)
        for name, table in (tables or {}).items():
            model = model.with_table(name, table)
        return model

    # -- access -------------------------------------------------------------------------
    @property
    def crs(self):
        """The model's projected CRS (``pyproj.CRS``)."""
        return self._crs

    @property
    def layer_names(self) -> list[str]:
        """Names of the vector layers, in insertion order."""
        return list(self._layers)

    @property
    def raster_names(self) -> list[str]:
        return list(self._rasters)

    @property
    def table_names(self) -> list[str]:
        return list(self._tables)

    @property
    def metadata(self) -> dict[str, Any]:
        """A copy of the metadata (name, sources, synthetic layers, scenario, plan year …)."""
        return copy.deepcopy(self._metadata)

    @property
    def name(self) -> str:
        return str(self._metadata.get("name", "city"))

    def layer_kind(self, name: str) -> str | None:
        """Schema kind of a layer (None for a free layer)."""
        self._require(name, self._layers, "layer")
        return self._kinds.get(name)

    def has_layer(self, name: str) -> bool:
        return name in self._layers

    def has_raster(self, name: str) -> bool:
        return name in self._rasters

    def layer(self, name: str) -> Any:
        """A copy of vector layer ``name`` (a GeoDataFrame in ``model.crs``)."""
        return self._require(name, self._layers, "layer").copy()

    def layers_of_kind(self, kind: str) -> list[str]:
        """Names of the layers with schema ``kind`` (``"cameras"`` → cameras, cameras_2025 …)."""
        return [n for n, k in self._kinds.items() if k == kind]

    def raster(self, name: str) -> Any:
        """Raster ``name`` as a DataArray (dims y, x; CRS in ``spatial_ref``; units in attrs)."""
        return self._require(name, self._rasters, "raster").copy()

    def table(self, name: str) -> pd.DataFrame:
        return self._require(name, self._tables, "table").copy()

    @property
    def grid(self):
        """The GridSpec shared by all rasters (None when the model has no raster)."""
        from cimtwin.grid.spec import GridSpec

        if not self._rasters:
            return None
        return GridSpec.from_dataarray(next(iter(self._rasters.values())))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) over all layers and rasters, in model CRS metres."""
        boxes = [gdf.total_bounds for gdf in self._layers.values() if len(gdf)]
        if self._rasters:
            boxes.append(self.grid.bounds)
        if not boxes:
            raise ValidationError("The model is empty: it has no extent.")
        xs0, ys0, xs1, ys1 = zip(*boxes)
        return (min(xs0), min(ys0), max(xs1), max(ys1))

    def _require(self, name: str, store: Mapping[str, Any], what: str) -> Any:
        if name not in store:
            hint = close_matches(name, store)
            raise LayerNotFoundError(
                f"The model has no {what} {name!r}.{hint} Its {what}s are: {list(store)}."
                + (f" Add one with `model.with_{what}({name!r}, ...)`." if what != "layer" or not hint else "")
            )
        return store[name]

    def require_layer(self, name: str, *, purpose: str) -> Any:
        """The layer, or a clear error when it is missing or empty (``purpose`` says what needs it)."""
        gdf = self._require(name, self._layers, "layer")
        if len(gdf) == 0:
            raise ValidationError(f"Layer {name!r} is empty, but {purpose} needs at least one feature.")
        return gdf.copy()

    def derived(self, key: tuple, build: Any) -> Any:
        """A result derived from the model's content, built once and shared by later analyses.

        The model never changes (``with_*`` return new models, which start without derived
        results), so a result keyed by everything it depends on stays valid. Callers must
        treat the result as read-only.

        Examples
        --------
        >>> import geopandas as gpd, shapely
        >>> m = CityModel.from_layers({"districts": gpd.GeoDataFrame(
        ...     {"name": ["A"]}, geometry=[shapely.box(39_500_000, 4_000_000, 39_501_000, 4_001_000)],
        ...     crs="EPSG:4527")})
        >>> m.derived(("answer",), lambda: 42), m.derived(("answer",), lambda: 0)
        (42, 42)
        """
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def forget_derived(self) -> int:
        """Let go of every derived result (they are rebuilt when asked for again); returns how many.

        A long run calls it between stages: the coverage fields and viewsheds of a city at
        10^8 cells hold gigabytes that later stages do not read.

        Examples
        --------
        >>> import cimtwin
        >>> m = cimtwin.load_sample("jinan")
        >>> m.derived(("answer",), lambda: 42), m.forget_derived(), m.derived(("answer",), lambda: 0)
        (42, 1, 0)
        """
        n = len(self._derived)
        self._derived.clear()
        return n

    # -- scenarios: each returns a new model --------------------------------------------
    def _replace(self, **changes: Any) -> CityModel:
        state = dict(crs=self._crs, layers=self._layers, rasters=self._rasters, tables=self._tables,
                     metadata=self._metadata, kinds=self._kinds)
        state.update(changes)
        return CityModel(**state)

    def with_layer(self, name: str, gdf: Any, *, kind: str | None = None, repair: bool = False,
                   synthetic: bool | None = None) -> CityModel:
        """A new model with layer ``name`` added or replaced (reprojected to the model CRS)."""
        resolved = layer_kind(name, kind)
        checked = validate_layer(name, gdf, crs=self._crs, kind=resolved, repair=repair)
        _check_storable_layer(name, checked)
        layers = dict(self._layers)
        layers[name] = checked
        kinds = dict(self._kinds)
        kinds[name] = resolved
        metadata = copy.deepcopy(self._metadata)
        if synthetic is not None:
            syn = set(metadata.get("synthetic", []))
            syn = syn | {name} if synthetic else syn - {name}
            metadata["synthetic"] = sorted(syn)
        return self._replace(layers=layers, kinds=kinds, metadata=metadata)

    def without_layer(self, name: str) -> CityModel:
        self._require(name, self._layers, "layer")
        layers = {k: v for k, v in self._layers.items() if k != name}
        kinds = {k: v for k, v in self._kinds.items() if k != name}
        return self._replace(layers=layers, kinds=kinds)

    def with_raster(self, name: str, da: Any) -> CityModel:
        """A new model with raster ``name``; it must be on the model's grid and CRS."""
        da, spec = validate_raster(name, da)
        if not spec.crs.equals(self._crs):
            raise GridAlignmentError(
                f"Raster {name!r} is in {spec.crs.to_string()}, the model in {self._crs.to_string()}. "
                "Reproject it onto the model grid, e.g. `da.rio.reproject(model.crs)`."
            )
        others = {k: v for k, v in self._rasters.items() if k != name}
        if others:
            from cimtwin.grid.spec import GridSpec

            GridSpec.from_dataarray(next(iter(others.values()))).require_aligned(spec, what=f"raster {name!r}")
        rasters = dict(self._rasters)
        rasters[name] = da.copy()
        return self._replace(rasters=rasters)

    def with_table(self, name: str, table: pd.DataFrame) -> CityModel:
        if not isinstance(table, pd.DataFrame):
            raise InputTypeError(f"Table {name!r} must be a pandas DataFrame; got {type(table).__name__}.")
        from cimtwin.io.container import check_storable

        check_storable(table, what=f"table {name!r}")
        tables = dict(self._tables)
        tables[name] = table.copy()
        return self._replace(tables=tables)

    def with_metadata(self, **items: Any) -> CityModel:
        metadata = copy.deepcopy(self._metadata)
        metadata.update(items)
        return self._replace(metadata=metadata)

    def validate(self):
        """Check every layer and raster again (e.g. after reading a model edited elsewhere).

        Returns a :class:`~cimtwin.model.validation.ValidationReport`; nothing is raised.
        """
        from cimtwin.errors import CimtwinError
        from cimtwin.grid.spec import GridSpec
        from cimtwin.model.validation import ValidationReport

        report = ValidationReport()
        for name, gdf in self._layers.items():
            try:
                validate_layer(name, gdf, crs=self._crs, kind=self._kinds.get(name), fill_defaults=False)
                report.notes.append(f"layer {name!r}: {len(gdf)} features OK")
            except CimtwinError as exc:
                report.errors.append(exc)
        grid = None
        for name, da in self._rasters.items():
            try:
                _, spec = validate_raster(name, da)
                if grid is None:
                    grid = spec
                else:
                    grid.require_aligned(spec, what=f"raster {name!r}")
                report.notes.append(f"raster {name!r}: {spec.shape[0]}×{spec.shape[1]} cells OK")
            except CimtwinError as exc:
                report.errors.append(exc)
        return report

    # -- storage ------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path | str:
        """Save to a model folder, or as a new version in PostgreSQL/PostGIS.

        Parameters
        ----------
        path
            A folder (``"city.cimtwin"``: one GeoPackage, one GeoTIFF per raster and
            ``manifest.json`` with sha256 checksums), or a URL
            ``postgresql://user@host:port/db?schema=NAME`` (one transaction per save, each a
            new version numbered from 1). See ``docs/model.md`` for the guarantees.

        Returns
        -------
        Path or str
            The folder, or the URL with ``version=N`` of the version written (no password).

        Raises
        ------
        ContainerError
            The folder holds other files and is not a model, cannot be written, or the database
            cannot be reached.

        Examples
        --------
        >>> model.save("jinan.cimtwin")                                         # doctest: +SKIP
        >>> model.save("postgresql://planner@db.example:5432/cim?schema=jinan")  # doctest: +SKIP
        """
        metadata = copy.deepcopy(self._metadata)
        metadata["crs"] = self._crs.to_wkt()
        metadata["layer_kinds"] = self._kinds
        from cimtwin.io.postgis import is_model_url

        if is_model_url(path):
            from cimtwin.io.postgis import write_postgis

            return write_postgis(str(path), layers=self._layers, rasters=self._rasters, tables=self._tables,
                                 metadata=metadata)
        from cimtwin.io.container import write_container

        return write_container(path, layers=self._layers, rasters=self._rasters, tables=self._tables,
                               metadata=metadata)

    # -- display ------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """One row per layer and raster: kind, features or cells, geometry, synthetic."""
        synthetic = set(self._metadata.get("synthetic", []))
        rows = []
        for name, gdf in self._layers.items():
            geom = ",".join(sorted(set(gdf.geom_type.dropna()))) if len(gdf) else ""
            rows.append({"name": name, "kind": self._kinds.get(name) or "free", "type": "vector",
                         "features": len(gdf), "geometry": geom, "synthetic": name in synthetic})
        for name, da in self._rasters.items():
            rows.append({"name": name, "kind": name, "type": "raster", "features": int(da.size),
                         "geometry": f"{da.shape[0]}×{da.shape[1]} cells", "synthetic": name in synthetic})
        for name, t in self._tables.items():
            rows.append({"name": name, "kind": "table", "type": "table", "features": len(t), "geometry": "",
                         "synthetic": name in synthetic})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return (f"<CityModel {self.name!r}: {len(self._layers)} layers, {len(self._rasters)} rasters, "
                f"crs={self._crs.to_string()}>")


def _check_storable_layer(name: str, gdf: Any) -> None:
    """Refuse, when the layer is added, columns a saved model could not give back exactly."""
    from cimtwin.io.container import check_storable

    check_storable(gdf, what=f"layer {name!r}", geometry=gdf.geometry.name)


def _lonlat_bounds(layers: Mapping[str, Any], rasters: Mapping[str, Any]):
    """Lon/lat bounds of everything given (for choosing the default CRS)."""
    import geopandas as gpd
    import shapely

    boxes = []
    for name, gdf in layers.items():
        if isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None and len(gdf):
            b = gdf.geometry.dropna()
            if len(b):
                boxes.append(gpd.GeoSeries([shapely.box(*b.total_bounds)], crs=gdf.crs).to_crs(4326).total_bounds)
    for name, da in rasters.items():
        try:
            from cimtwin.grid.spec import GridSpec

            spec = GridSpec.from_dataarray(da)
        except ValidationError:  # not a regular north-up grid: its extent cannot be read
            continue
        if spec.crs is not None:
            boxes.append(gpd.GeoSeries([shapely.box(*spec.bounds)], crs=spec.crs).to_crs(4326).total_bounds)
    if not boxes:
        return None
    xs0, ys0, xs1, ys1 = zip(*boxes)
    return (min(xs0), min(ys0), max(xs1), max(ys1))


def read_model(path: str | os.PathLike, *, version: int | None = None, verify: bool = True,
               dem_chunks: Any = None) -> CityModel:
    """Read a model saved with :meth:`CityModel.save`, from a folder or a PostgreSQL URL.

    Parameters
    ----------
    path
        The model folder, or ``postgresql://user@host:port/db?schema=NAME``.
    version
        PostgreSQL only: the version to read (1 = the first save); None reads the newest.
    verify
        Folder only: check every file against the manifest's sha256 checksums.
    dem_chunks
        Folder only: open the ``dem`` lazily as a dask array of these chunks (int or
        (rows, cols)), for DEMs larger than memory (:func:`cimtwin.risk.flood_hazard` runs
        tile by tile on it); None reads it into memory.

    Raises
    ------
    ContainerError
        The model does not exist, is damaged (a file missing, truncated or altered) or the
        version does not exist; the message names the file or version and the fix.

    Examples
    --------
    >>> model.save("jinan.cimtwin")                         # doctest: +SKIP
    >>> cimtwin.read_model("jinan.cimtwin")                 # doctest: +SKIP
    >>> cimtwin.read_model("postgresql://planner@db/cim?schema=jinan", version=1)  # doctest: +SKIP
    """
    import pyproj

    from cimtwin.errors import ContainerError
    from cimtwin.io.postgis import is_model_url

    if dem_chunks is not None:
        _check_chunks(dem_chunks)
    if is_model_url(path):
        if dem_chunks is not None:
            raise ValidationError("`dem_chunks` applies to a model folder (its DEM GeoTIFF is read tile by tile); "
                                  "a PostgreSQL model is read whole. Drop `dem_chunks=`, or save the model to a "
                                  "folder first.")
        from cimtwin.io.postgis import read_postgis

        data = read_postgis(str(path), version=version)
    else:
        if version is not None:
            raise ValidationError("`version` applies to a PostgreSQL URL; a model folder holds one version. "
                                  "Drop `version=`.")
        from cimtwin.io.container import read_container

        data = read_container(path, verify=verify, dem_chunks=dem_chunks)
    metadata = dict(data["metadata"])
    try:
        crs = pyproj.CRS.from_wkt(metadata.pop("crs"))
    except (KeyError, pyproj.exceptions.CRSError) as exc:
        raise ContainerError(f"The model at {data.get('where', path)!s} has no readable CRS in its metadata "
                             f"({type(exc).__name__}). Save the model again.") from None
    kinds = metadata.pop("layer_kinds", {})
    return CityModel(crs=crs, layers=data["layers"], rasters=data["rasters"], tables=data["tables"],
                     metadata=metadata, kinds={n: kinds.get(n) for n in data["layers"]})


def _check_chunks(chunks: Any) -> None:
    """``dem_chunks``: a positive int or a pair of them."""
    items = chunks if isinstance(chunks, (tuple, list)) else (chunks,)
    ok = 1 <= len(items) <= 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
                                      for v in items)
    if not ok:
        raise ValidationError(f"`dem_chunks` must be a positive number of cells or a (rows, cols) pair; got "
                              f"{chunks!r}.")
