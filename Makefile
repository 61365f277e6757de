# The two commands a newcomer needs (see README):
#   make demo   set everything up, record the demo sweep, show it
#   make test   set everything up, run lint and the whole test suite
# Everything is installed into ./.venv by these rules; nothing is expected on the machine
# beyond python3 (>= 3.10) with venv.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: setup
	$(VENV)/bin/workbench demo

lint: setup
	$(PY) -m ruff check workbench tests benchmarks
	$(PY) -m ruff format --check workbench tests benchmarks

test: setup lint
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_write_designs.py
	$(PY) benchmarks/bench_track_overhead.py
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_server.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
