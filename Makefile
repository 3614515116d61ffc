# lambda-canary: `make run` serves the example stack, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
RUNTIMES ?= nodejs18.x nodejs22.x
EXAMPLE ?= examples/ping/canary.yaml
PORT ?= 3000

.PHONY: setup runtimes run test test-fast bench lint format clean

$(BIN)/lambda-canary: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=python3.x (3.11 or newer)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/lambda-canary ## make .venv with the lambda-canary command in it

runtimes: setup ## fetch Node 18 and Node 22 through npm into the cache
	$(BIN)/lambda-canary runtimes install $(RUNTIMES)

run: runtimes ## serve examples/ping on 127.0.0.1:$(PORT) with the process backend
	$(BIN)/lambda-canary serve $(EXAMPLE) --port $(PORT) --backend process

test: runtimes ## the whole suite (Docker tests start dockerd when they can)
	$(BIN)/pytest -q

test-fast: runtimes
	$(BIN)/pytest -q -m "not docker"

PEERS ?= $(or $(BENCH_PEERS),0)

bench: runtimes ## speed figures, side by side in one run; PEERS=1 adds serverless-offline and SAM CLI (installed into the cache)
	BENCH_PEERS=$(PEERS) $(BIN)/python -m benchmarks.run

lint: setup ## ruff, and mypy's type check of emulator/
	$(BIN)/ruff check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info
