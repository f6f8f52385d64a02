# firewatch — `make demo` and `make test` do all setup on a fresh Debian machine (Python 3.11).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := out/demo
DEMO_DATE := 2025-04-23
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: a real browser for page tests, a CJK font for PDFs, poppler for PDF checks,
# pango for WeasyPrint, PostgreSQL + PostGIS for the store suite on PostGIS.
DEB_TEST := chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 postgresql postgis
DEB_DEMO := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0

.PHONY: help venv demo test lint typecheck unit bench clean system-test system-demo

help:
	@echo "make demo   run the daily job on the bundled real sample data (SQLite store in $(DEMO_DIR))"
	@echo "make test   install what the tests need, then lint, type-check and run the whole suite"
	@echo "make bench  run the benchmarks in bench/ (slow; prints tables of ratios)"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "python3.11 not found: apt-get install python3 python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $@

venv: $(STAMP)

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-test:
	$(call apt_install,$(DEB_TEST))

system-demo:
	$(call apt_install,$(DEB_DEMO))

demo: system-demo $(STAMP)
	@mkdir -p $(DEMO_DIR)
	$(BIN)/firewatch --db sqlite:///$(DEMO_DIR)/firewatch.db chiefs import grids/jixi_demo_chiefs.csv
	$(BIN)/firewatch --db sqlite:///$(DEMO_DIR)/firewatch.db daily --date $(DEMO_DATE) \
	  --file firewatch/data/samples/MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv \
	  --out $(DEMO_DIR)

lint: $(STAMP)
	$(BIN)/ruff check firewatch tests bench
	$(BIN)/ruff format --check firewatch tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: system-test $(STAMP)
	@url=$$(./.ci/postgis-up) && \
	FIREWATCH_TEST_POSTGIS_URL=$$url FIREWATCH_STRICT=$${FIREWATCH_STRICT:-1} \
	  $(BIN)/pytest -n 2 --dist loadfile -q

test: lint typecheck unit

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
