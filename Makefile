# Every target creates or refreshes .venv itself, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: venv demo test test-sqlite test-postgres lint typecheck contracts bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check analytics graph_sync bot appmanifest tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy analytics graph_sync bot

contracts: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite =="
	RAPPORT_TEST_DATABASE_URL=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "== test suite on PostgreSQL ($(PG_TEST_URL)) =="
	RAPPORT_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck contracts test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
