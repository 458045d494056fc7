"""Private numeric core: numpy + numba only.

Nothing here knows about geopandas, xarray or the city model; arrays and scalars in,
arrays out, inputs never modified. Public wrappers live in :mod:`cimtwin.grid`,
:mod:`cimtwin.routing` and above. Kernels compile lazily on first call.
"""
