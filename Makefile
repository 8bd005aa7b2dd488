# The two commands a fresh machine needs: `make up` runs Pulse, `make test` runs every check CI runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test lint install console console-test clean

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pulse needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

# The web console (web/ → pulse/console/static), rebuilt only when its sources changed.
console: $(BIN)/.installed
	web/console.sh build $(BIN)

console-test: $(BIN)/.installed
	web/console.sh test $(BIN)

up: console
	$(BIN)/pulse up

lint: $(BIN)/.installed
	$(BIN)/ruff check pulse tests
	$(BIN)/ruff format --check pulse tests

# The browser end-to-end tests (tests/e2e/test_console.py) need the console built and Debian's chromium.
test: lint console console-test
	$(BIN)/pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache web/node_modules web/.build-stamp pulse/console/static
