# Omni: `make run` for a local demo, `make test` for the whole suite on PostgreSQL.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install messages makemessages run test suite lint format browser bench-seed clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## Create the virtualenv and install Omni with its dev tools

messages: $(STAMP) ## Compile the translations (locale/)
	@$(PY) manage.py compilemessages --ignore '.venv' -v 0

makemessages: $(STAMP) ## Extract strings into locale/fr/LC_MESSAGES/django.po
	$(PY) manage.py makemessages -l fr --ignore '.venv' --ignore 'var' --no-obsolete

run: install messages ## Embedded PostgreSQL, migrate, demo data, web + worker + beat
	$(PY) manage.py run_all --seed-demo

# The suite runs on PostgreSQL and Redis: those on 127.0.0.1:5432 and :6379 when they answer
# (or DATABASE_URL / CELERY_BROKER_URL), else servers omni.devservices provisions and stops.
test: export DJANGO_ENV ?= test
test: install messages browser ## Lint and run the whole suite on PostgreSQL (and the browser tests)
	@$(PY) -m omni.devservices for-tests -- $(MAKE) --no-print-directory suite

# In parallel, one worker per core (at most 4): each worker has its own test database.
PYTEST_ARGS ?= -n auto --maxprocesses 4

suite:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run -v 0
	$(VENV)/bin/pytest $(PYTEST_ARGS)

browser: ## Install Debian's chromium for the browser tests (once)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

lint: install ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Fix what ruff can fix
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench-seed: install ## Seed 100,000 customers and compare with a raw COPY
	bash bench/seed.sh

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var
