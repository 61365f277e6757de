# The two commands a newcomer needs (see README):
#   make demo   set everything up, record the demo sweep, open JupyterLab on it
#   make test   set everything up, run lint and the whole test suite
# Everything is installed by these rules: Python packages into ./.venv (pip also builds
# the JupyterLab panel with npm), and Debian's chromium for the browser test. Expected
# on the machine: python3 (>= 3.10) with venv, Node.js 20+ with npm, apt (as root).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean chromium

setup: $(STAMP)

$(STAMP): pyproject.toml labextension/package.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,bench]"
	$(PY) -m pip install --quiet --no-deps "model-card-toolkit==2.0.0"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	$(VENV)/bin/jupyter labextension list 2>&1 | grep -q "jupyterlab-workbench.*enabled"
	@test -x /usr/bin/chromium || $(MAKE) chromium
	touch $(STAMP)

# Headless Chromium for tests/ui (Playwright drives it; its own browser downloads are
# not used).
chromium:
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi

demo: setup
	$(VENV)/bin/workbench demo --lab

lint: setup
	$(PY) -m ruff check workbench tests benchmarks
	$(PY) -m ruff format --check workbench tests benchmarks
	$(VENV)/bin/lint-imports
	cd labextension && npm run lint:check

test: setup lint
	cd labextension && npm test
	$(PY) -m pytest

# Every figure the README quotes comes from one of these; each writes its own section of
# benchmarks/RESULTS.md, and benchmarks/check_readme.py compares the README with it.
# WB_BENCH_QUICK=1 make bench: small sizes, a smoke run (its figures are not for quoting).
# bench_wandb needs the wandb-bench extra (W&B), which only this rule installs.
BENCH_SCRIPTS := core write_designs store track_overhead sweep server server_load lineage bridges beyond wandb
BENCH_OTHER := $(wildcard benchmarks/bench_scale.py benchmarks/bench_system_metrics.py)

bench: setup
	$(PY) -c "import wandb" 2>/dev/null || $(PY) -m pip install --quiet -e ".[wandb-bench]"
	@set -e; for b in $(BENCH_SCRIPTS); do echo "== bench_$$b"; $(PY) benchmarks/bench_$$b.py; done
	@set -e; for f in $(BENCH_OTHER); do echo "== $$f"; $(PY) $$f; done
	$(PY) benchmarks/check_readme.py || true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache workbench/labextension labextension/lib labextension/node_modules
