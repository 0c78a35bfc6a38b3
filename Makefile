# logaudit developer tasks. Two commands do everything on a fresh machine:
#   make run    create .venv, install, scan sample_logs/ and print the report
#   make test   create .venv if needed, install with test extras, run ruff, mypy and pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint bench precision recall clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(TSTAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/logaudit scan sample_logs/ --exclude '*.md' || test $$? -eq 1  # 1 = findings, expected

lint: $(TSTAMP)
	$(BIN)/ruff check logaudit tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q $(TESTS)

bench: $(TSTAMP)
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/dask_bench.py
	$(BIN)/python bench/redact_bench.py

precision: $(TSTAMP)
	$(BIN)/python bench/precision.py

recall: $(TSTAMP)
	$(BIN)/python bench/recall.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache bench/.corpus
