# socialmetrics — `make demo` runs the product, `make test` runs the whole suite.
# Both create .venv and install what they need on a fresh clone.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install demo test lint format bench chromium clean

help:
	@echo "make demo    run the dashboard, workers (and sandbox) on http://$(HOST):$(PORT)"
	@echo "make test    install and run the whole test suite"
	@echo "make lint    ruff check + ruff format --check"
	@echo "make format  apply ruff fixes and formatting"
	@echo "make bench   print benchmark figures"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium; Playwright's own download does not work here.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

demo: $(STAMP)
	$(PY) manage.py demo --host $(HOST) --port $(PORT)

test: $(STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/pytest tests/benchmarks -m benchmark -s -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
