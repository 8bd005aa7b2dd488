# The two commands a fresh machine needs: `make up` runs Pulse, `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint install clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pulse needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

up: $(BIN)/.installed
	$(BIN)/pulse up

lint: $(BIN)/.installed
	$(BIN)/ruff check pulse tests
	$(BIN)/ruff format --check pulse tests

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
