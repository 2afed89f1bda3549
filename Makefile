# MLSD Handbook. Two commands are the contract: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

# $(call apt_install,PACKAGES,WHAT): Debian's PACKAGES with apt-get, as root or with sudo that
# asks no password; succeeds only when they were installed. The recipes below call it when a
# tool is missing, and say what to do when it cannot be installed. It is a chain of &&: after
# `||`, put it in braces.
apt_install = command -v apt-get >/dev/null \
	&& { if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else false; fi; } \
	&& echo "Installing Debian's $(2) (apt-get)…" \
	&& $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1) >/dev/null

.PHONY: run test lint format check-python install install-dev migrate content reset clean bench browser graphviz \
	nginx wrk cluster cluster-stop cluster-bench

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "MLSD Handbook needs Python 3.12 or newer (3.13 is pinned in .python-version);"; \
	  echo "'$(PYTHON)' is $$($(PYTHON) --version 2>&1). Install 3.13 or run: make PYTHON=python3.13 run"; \
	  exit 1; }

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

content: migrate
	$(PY) manage.py load_content

## Set everything up and serve the site on http://127.0.0.1:8000 (SQLite unless DATABASE_URL),
## with the task worker beside it (search indexing and snapshots after autosave); Ctrl-C stops both.
run: content graphviz
	@echo "Serving MLSD Handbook on http://$(HOST):$(PORT)/ (task worker running beside it)"
	@$(PY) manage.py worker --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## Chromium for the browser tests: Debian's package (apt as root, or sudo without a password),
## else Playwright's own build where it can be downloaded; one clear line when neither works.
browser: install-dev
	@if [ "$$SKIP_BROWSER_TESTS" = 1 ] || [ -x /usr/bin/chromium ]; then exit 0; fi; \
	$(call apt_install,chromium,chromium for the browser tests) && [ -x /usr/bin/chromium ] && exit 0; \
	$(BIN)/playwright install chromium >/dev/null 2>&1 && exit 0; \
	echo "make test: the browser tests need Chromium; install it with 'apt-get install -y chromium' as root (or 'playwright install chromium'), or run SKIP_BROWSER_TESTS=1 make test."; \
	exit 1

## Graphviz draws the design docs' diagrams (the dot command): Debian's package (apt as root, or
## sudo without a password) when dot is missing; one clear line when it cannot be installed.
graphviz:
	@if command -v dot >/dev/null; then exit 0; fi; \
	$(call apt_install,graphviz,graphviz for the diagrams) && command -v dot >/dev/null && exit 0; \
	echo "MLSD Handbook draws diagrams with Graphviz: install it with 'apt-get install -y graphviz' as root (or 'brew install graphviz')."; \
	exit 1

## nginx for `make cluster` and the tests through it: Debian's package (apt as root, or sudo
## without a password) when it is missing. Never fails: the tests through nginx skip without it.
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then exit 0; fi; \
	$(call apt_install,--no-install-recommends nginx,nginx) && exit 0; \
	echo "nginx is missing: install it with 'apt-get install -y nginx' as root; tests through nginx are skipped."

## wrk drives the bench's load, and tests check its scripts (tests/test_bench_wrk.py).
wrk:
	@if command -v wrk >/dev/null; then exit 0; fi; \
	$(call apt_install,wrk,wrk for the load scripts) && exit 0; \
	echo "wrk is missing: install it with 'apt-get install -y wrk' as root; its tests are skipped."

## Two replicas behind nginx on http://127.0.0.1:8080/, a task worker, PostgreSQL and Redis, and
## Prometheus when Debian has it (deploy/cluster.sh; see "Scaling out" in the README).
cluster: install nginx
	@command -v prometheus >/dev/null \
	  || { $(call apt_install,--no-install-recommends prometheus prometheus-nginx-exporter,prometheus and its nginx exporter); } \
	  || echo "Prometheus could not be installed; the cluster runs without it."
	deploy/cluster.sh start

cluster-stop:
	deploy/cluster.sh stop

## Faults under load through nginx (replica and worker kills, a Redis restart) and req/s against
## nginx's static ceiling, then the soak test's two PostgreSQL restarts through nginx; each starts
## the cluster when it is not running (bench/cluster.py, bench/soak.py --cluster).
cluster-bench: install-dev nginx wrk
	$(PY) -m bench.cluster
	$(PY) -m bench.soak --cluster --seconds 30 --clients 16

## Install the dev tools, lint, and run every test (browser tests need Chromium: see browser).
test: install-dev browser graphviz nginx wrk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Throw away the local SQLite database and load the content afresh.
reset: install
	rm -f db.sqlite3
	$(MAKE) content

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

## Benchmark the production setup against the in-server static ceiling, then flashcard review
## at scale (see bench/README.md).
bench: install-dev wrk
	$(PY) -m bench
	$(PY) -m bench.flashcards
