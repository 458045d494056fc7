# Two commands from a fresh clone: `make demo` and `make test`.
# Each creates (or reuses) the local virtual environment .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.cimtwin-installed
OUT    ?= demo_out

.PHONY: demo test bench bench-quick bench-results clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cimtwin demo --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

# Benchmarks: every script at the issue sizes (hours on 2 cores; one script at a time), each
# writing benchmarks/results/<script>.json, then RESULTS.md regenerated from those files.
# `make bench-quick` runs the small sizes (1e5/1e6) into benchmarks/results/quick/ instead.
BENCH_SCRIPTS ?= $(sort $(wildcard benchmarks/bench_*.py))
BENCH_STAMP    = $(VENV)/.cimtwin-bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@for s in $(BENCH_SCRIPTS); do echo "== $$s"; $(PY) $$s || exit 1; done
	$(PY) benchmarks/make_results.py

bench-quick: $(BENCH_STAMP)
	@for s in $(BENCH_SCRIPTS); do echo "== $$s --quick"; $(PY) $$s --quick || exit 1; done

bench-results:
	$(PY) benchmarks/make_results.py

clean-venv:
	rm -rf $(VENV)
