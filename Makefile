# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test lint typecheck unit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

# The demo installs only what it runs; `make test` installs the test tooling on top.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[demo]'
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/wearable demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# `make unit JOBS=2` (or `auto`, a worker per core) runs on pytest-xdist workers; the tests
# that share a slow session fixture stay on one worker (tests/conftest.py). Serial by
# default: on a busy 2-core machine the workers were slower (README, Tests).
JOBS ?= 0
unit: $(STAMP)
	$(BIN)/pytest -m "not integration and not e2e and not slow" -n $(JOBS) --dist loadgroup

test: lint typecheck
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
