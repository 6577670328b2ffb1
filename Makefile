# o2ml: the README's two commands, `make lab` and `make test`, each set up a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   := env/requirements.lock
STAMP  := $(VENV)/.o2ml-installed
DATA   ?= data
SEED   ?= 42
GENERATE_ARGS ?=
LAB_ARGS ?=
VOILA_ARGS ?=
# kernels per dashboard that Voila starts and runs before a page is opened (0: one per page, when
# it is opened). Pre-heated, a page rendered in 2.8 s instead of 4.1 s here (10M candidates,
# benchmarks/bench_dashboards.py); each idle kernel holds ~250 MiB. Pages opened at once beyond
# the pool wait for new kernels: for a group, VOILA_POOL=<people who open pages together>.
VOILA_POOL ?= 1
PORT   ?= 8866
# the dashboards' address: 127.0.0.1 unless you serve others (README: Serving the dashboards)
IP     ?= 127.0.0.1
PYTEST_ARGS ?=
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# containers (CI, Docker) often run as root, which Jupyter refuses without this flag
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: help setup data lab test check dashboards chromium lint clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: $(STAMP)  ## create .venv and install the lock and o2ml (only when the lock changed)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "pip==26.3"
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (o2ml)"
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp env/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $@

data: setup  ## generate the synthetic sample into $(DATA)/ unless its manifest matches (seed, sizes, checksums)
	$(BIN)/o2ml generate all --out $(DATA) --seed $(SEED) --with-truth --if-needed $(GENERATE_ARGS)

lab: setup data  ## open JupyterLab on notebooks/ (LAB_ARGS="--no-browser --port 8888")
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

dashboards: setup data  ## serve notebooks/dashboards with Voila on $(IP):$(PORT) (IP=127.0.0.1 unless set)
	$(BIN)/voila notebooks/dashboards --Voila.ip=$(IP) --port=$(PORT) --no-browser \
	  $(if $(filter 0,$(VOILA_POOL)),,--preheat_kernel=True --pool_size=$(VOILA_POOL)) $(VOILA_ARGS)

chromium:  ## install Chromium from Debian's packages for the browser tests, if missing
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Chromium (Debian package) for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	fi

test: setup chromium  ## run every test: unit, all notebooks and dashboards (nbmake, O2ML_FAST=1), browser
	O2ML_FAST=1 O2ML_REQUIRE_BROWSER=1 O2ML_THREADS=1 OMP_WAIT_POLICY=passive $(BIN)/python -m pytest -n 2 --dist loadgroup \
	  --nbmake --nbmake-timeout=900 tests $(wildcard notebooks/*.ipynb notebooks/dashboards/*.ipynb) \
	  $(PYTEST_ARGS)

check: setup  ## the quick loop (< 2 min on 2 cores): unit tests, no notebooks, no browser, no slow ones
	O2ML_FAST=1 O2ML_THREADS=1 OMP_WAIT_POLICY=passive $(BIN)/python -m pytest -n 2 --dist loadgroup \
	  -m "not browser and not slow" tests $(PYTEST_ARGS)

lint:  ## ruff on the package, tests, benchmarks and notebooks
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks

clean:  ## remove the virtual environment, caches and notebook outputs (never touches data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache notebooks/output test-artifacts
