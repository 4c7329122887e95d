# juki — make demo / make test / make bench / make lint
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test test-sqlite test-ui browser bench lint install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/juki demo --db var/demo.db --port 8000

# The clerk UI's browser tests (tests/ui) drive Debian's chromium; Playwright cannot download browsers here.
browser:
	@test -x $(CHROMIUM) || { \
	  echo "chromium is not installed: installing chromium and Japanese fonts with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium fonts-ipafont-gothic; }

test: $(STAMP) browser
	$(BIN)/python -m pytest

test-ui: $(STAMP) browser
	$(BIN)/python -m pytest -m ui

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
