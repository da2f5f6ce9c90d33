# coopbot — `make run` starts the bot, `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= $(wildcard config.toml)
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
PYTEST_ARGS ?=

.PHONY: run console test lint typecheck pytest bench bench-matrix clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[discord,matrix,postgres,http]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

## run: create .venv, install, start the bot (console on ./coopbot.db when no tokens are set)
run: $(STAMP_RUN)
	$(BIN)/coopbot run $(if $(CONFIG),--config $(CONFIG))

## test: install the test extras, then ruff, mypy and the whole pytest suite
test: $(STAMP_TEST) lint typecheck pytest

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

pytest: $(STAMP_TEST)
	$(BIN)/pytest $(PYTEST_ARGS)

## bench: seed 1 %, 10 %, 100 % of the goal size and measure (SCALE=1 DATABASES=sqlite: quick)
SCALE ?= 1,10,100
DATABASES ?= sqlite,postgres
bench: $(STAMP_TEST)
	SCALE=$(SCALE) DATABASES=$(DATABASES) $(BIN)/python -m bench.run

## bench-matrix: coopbot vs a bare echo bot on a real Synapse (after `make bench`)
bench-matrix: $(STAMP_TEST)
	$(BIN)/python -m bench.matrix_compare

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
