#!/usr/bin/env bash
# Prepared calls on a lent GPU machine (one GPU, 16 cores), with .device/wheels carried
# (fetch them first, here: bash benchmarks/device/wheels.sh):
#   run(command="bash benchmarks/device/run.sh gpu", carry=[".device"], timeout_s=300)
#   run(command="bash benchmarks/device/run.sh hydro", carry=[".device"], timeout_s=480)
# gpu:   benchmarks/bench_gpu.py, the GPU kernels resident / with transfers / CPU / CuPy anchors;
# hydro: benchmarks/bench_hydro_dask.py at 1e8 cells, 8 x 8 tiles, on 2 and on 16 threads (the
#        16-core goal), with the machine's own parallel capacity.
# Results land in $OUT (bench_gpu.json, hydro16/bench_hydro_dask.json, logs). Copy them to
# benchmarks/results/ (the second as bench_hydro_dask_16cores.json) and run
# benchmarks/make_results.py.
set -u
cd "$(dirname "$0")/../.."
step=${1:-all}
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
if [ "$step" = gpu ] || [ "$step" = all ]; then
    "$py" benchmarks/bench_gpu.py --repeat 5 --json "$out/bench_gpu.json" > "$out/bench_gpu.log" 2>&1
    echo "bench_gpu exit $?"; tail -5 "$out/bench_gpu.log"
fi
if [ "$step" = hydro ] || [ "$step" = all ]; then
    "$py" benchmarks/bench_hydro_dask.py --sizes "${HYDRO_SIZE:-1e8}" --threads 2 16 --chunk 1250 \
        --repeat "${HYDRO_REPEAT:-3}" --out "$out/hydro16" > "$out/bench_hydro16.log" 2>&1
    echo "bench_hydro_dask exit $?"; tail -12 "$out/bench_hydro16.log"
fi
