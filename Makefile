# One-command set-up and test runs. `make scenarios` and `make test` do all the set-up:
# a virtualenv with the project and its test extras, and the PostgreSQL and Redis binaries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed
APP_STAMP := fixtures/app/node_modules/.installed

.PHONY: setup system-deps app-deps scenarios test unit lint bench cleanup doctor clean

setup: $(STAMP) system-deps app-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	./scripts/ensure-system-deps.sh

# The Node.js app the simulator deploys (fixtures/app): exactly what its lock file says.
app-deps: $(APP_STAMP)

$(APP_STAMP): fixtures/app/package.json fixtures/app/package-lock.json
	cd fixtures/app && npm ci --no-audit --no-fund
	touch $(APP_STAMP)

scenarios: setup
	$(BIN)/pytest scenarios/ $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check harness tests scenarios bench fixtures conftest.py
	$(BIN)/mypy

test: setup lint
	$(BIN)/pytest -n 2 --dist loadgroup tests/ scenarios/ $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup -m "not integration" tests/ $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/services.py

cleanup: $(STAMP)
	$(BIN)/harness cleanup

doctor: $(STAMP)
	$(BIN)/harness doctor

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
