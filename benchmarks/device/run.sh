#!/usr/bin/env bash
# One prepared call on a lent GPU machine (one GPU, 16 cores), with .device/wheels carried:
#   run(command="bash benchmarks/device/run.sh", carry=[".device"], timeout_s=600)
# 1. benchmarks/bench_gpu.py: GPU kernels resident / with transfers / CPU / CuPy anchors;
# 2. benchmarks/bench_hydro_dask.py at 1e8 cells on 2 and on 16 threads (the 16-core goal).
# Every result lands in $OUT (bench_gpu.json, hydro16/bench_hydro_dask.json, logs); a step
# that fails does not stop the next. Copy them to benchmarks/results/ (the second as
# bench_hydro_dask_16cores.json) and run benchmarks/make_results.py.
set -u
cd "$(dirname "$0")/../.."
py=${PYTHON:-python3}
out=${OUT:-out/device}
mkdir -p "$out"
site=$(mktemp -d)
# numpy stays the image's; every other wheel without its dependencies (they are all here);
# without pip, a wheel unpacked onto the path is installed as far as these imports go
if ! "$py" -m pip install -q --no-index --no-deps --target "$site" .device/wheels/*.whl; then
    for w in .device/wheels/*.whl; do "$py" -m zipfile -e "$w" "$site"; done
fi
export PYTHONPATH="$site:$PWD" CIMTWIN_PROGRESS=0
nproc; "$py" -c "import numpy, numba; print('numpy', numpy.__version__, 'numba', numba.__version__)"
if [ "${SKIP_GPU:-0}" != 1 ]; then
    timeout 240 "$py" benchmarks/bench_gpu.py --repeat 5 --json "$out/bench_gpu.json" > "$out/bench_gpu.log" 2>&1
    echo "bench_gpu exit $?"; tail -5 "$out/bench_gpu.log"
fi
timeout "${HYDRO_TIMEOUT:-330}" "$py" benchmarks/bench_hydro_dask.py --sizes "${HYDRO_SIZE:-1e8}" --threads 2 16 \
    --chunk 1250 --repeat "${HYDRO_REPEAT:-3}" --out "$out/hydro16" > "$out/bench_hydro16.log" 2>&1
echo "bench_hydro_dask exit $?"; tail -12 "$out/bench_hydro16.log"
