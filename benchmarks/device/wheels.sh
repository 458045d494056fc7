#!/usr/bin/env bash
# Fetch the wheels the lent GPU machine lacks into .device/wheels (run here, where a package
# registry is reachable; the GPU machine reaches none). Its image has Python 3.12, NumPy 2.5,
# numba, numba-cuda, CuPy and SciPy; cimtwin.grid and the dask benchmarks also need these.
# NumPy itself is left out: the image's NumPy is the one its numba-cuda and CuPy were built for.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-python3}
pyver=${DEVICE_PYTHON:-3.12}
dest=.device/wheels
rm -rf "$dest" && mkdir -p "$dest"
"$py" -m pip download -q -d "$dest" --only-binary :all: --python-version "$pyver" \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    xarray dask pandas tqdm affine shapely pyproj
rm -f "$dest"/numpy-*.whl
du -sh "$dest"
