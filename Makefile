# juki — make demo / make test / make bench / make lint
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test test-sqlite test-ui browser fonts bench lint install clean coverage

# Certificates embed IPAmj明朝 (the MJ character set: 𠮷, 髙, 﨑 …) with IPAex as fallback; poppler's
# pdftoppm/pdftotext render and read them in the tests.
CERT_FONT ?= /usr/share/fonts/truetype/ipamj/ipamjm.ttf

fonts:
	@test -f $(CERT_FONT) -a -f /usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf -a -x /usr/bin/pdftoppm || { \
	  echo "installing the certificate fonts and poppler-utils with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq fonts-ipamj-mincho fonts-ipaexfont poppler-utils; }

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory fonts
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) fonts
	$(BIN)/juki demo --db var/demo.db --port 8000

# The clerk UI's browser tests (tests/ui) drive Debian's chromium; Playwright cannot download browsers here.
browser:
	@test -x $(CHROMIUM) || { \
	  echo "chromium is not installed: installing chromium and Japanese fonts with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium fonts-ipafont-gothic; }

# The suite on every core (pytest-xdist): each worker has its own registers, browser and servers; the modules
# grouped in tests/conftest.py (one shared, costly register each) stay on one worker.
TEST_WORKERS ?= auto

test: $(STAMP) browser fonts
	@status=0; $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup || status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests (exit 5): that is a failure too"; fi; \
	  exit $$status

# Coverage of juki.domain and juki.services by the unit and HTTP tests on SQLite, failing under the floor. Kept out
# of `make test` and CI: on Python 3.11 coverage traces every line (sys.settrace): tests/unit ran ~75 % slower, two
# e2e modules about twice as slow, and this target took 13 min here (2 cores, under load). The floor is the 94 %
# measured then (domain 96 %, services 92 %) less 2.
COVERAGE_FLOOR ?= 92

coverage: $(STAMP)
	env -u JUKI_TEST_POSTGRES_URL $(BIN)/python -m pytest tests/unit tests/e2e -n 2 --dist loadgroup \
	  --cov=juki.domain --cov=juki.services --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

test-ui: $(STAMP) browser
	$(BIN)/python -m pytest -m ui

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The inner layers (the register's rules, the policy, the services) are held to mypy --strict, and no function
# anywhere to worse than radon's C (cyclomatic complexity over 20): a function past that is split into named steps.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/mypy --strict src/juki/domain src/juki/policy src/juki/services
	$(BIN)/xenon --max-absolute C src/juki

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
