# make run  – set up and serve the portal on http://$(HOST):$(PORT) (SQLite, mail in the terminal)
# make test – set up and run the whole test suite
# make lint – ruff, the layers' import contract, template indentation, migrations in step with the models
# make serve – the production shape: gunicorn, whitenoise, the mail worker (environment in the README)
# make sirene-sample – load the repository's made-up SIRENE stock, to try the directory locally
# make bench SCALE=small|full [NODES=1] – seeds a throwaway PostgreSQL database, serves it, measures P1–P5, the
#   allauth peer, then two nodes behind HAProxy with one killed (NODES=1 skips that)
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint serve bench migrate superuser clean sirene-sample
SCALE ?= small
NODES ?= 2

# The interpreter: the one .python-version selects (pyenv), else python3.13 or
# python3.12 on PATH; Django 6.1 needs 3.12 or newer.
define find_python
for candidate in "$$(pyenv which python 2>/dev/null)" python3.13 python3.12 python3; do \
  [ -n "$$candidate" ] || continue; \
  path=$$(command -v "$$candidate" 2>/dev/null) || continue; \
  "$$path" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$path"; exit 0; }; \
done; exit 1
endef

$(VENV)/bin/python:
	@python=$$($(find_python)) || { echo "Python 3.12 or newer is needed (3.13 preferred, see .python-version); none was found on PATH." >&2; exit 1; }; \
	echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"

$(VENV)/.installed-run: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt --group run
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-run
	$(PY) -m pip install --quiet -c constraints.txt --group bench
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-run
	$(PY) -m pip install --quiet -c constraints.txt --group test
	touch $@

var:
	mkdir -p var var/media

migrate: $(VENV)/.installed-run | var
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput

# The captcha's audio version needs espeak-ng; without it the portal runs and says the audio is unavailable.
run: migrate
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  echo "Note: espeak-ng is not installed, so the sign-up captcha has no audio version (the portal runs without it)."; \
	  echo "      To offer it: sudo apt-get install espeak-ng, then make run again."; }
	@echo "Serving on http://$(HOST):$(PORT) – mail is printed below."
	DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(PY) manage.py runserver $(HOST):$(PORT)

# The suite runs on TEST_WORKERS processes (pytest-xdist); much of it waits on browsers and databases, so
# three keep a 2-core machine busy. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 3
test: $(VENV)/.installed-test | var
	$(PY) -m pytest -n $(TEST_WORKERS)

serve: $(VENV)/.installed-run | var
	bin/serve

bench: $(VENV)/.installed-bench | var
	@command -v haproxy >/dev/null || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq haproxy; }  # the two-node run's balancer
	$(PY) -m bench.run --scale $(SCALE) --nodes $(NODES)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/djhtml --check templates
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

# The made-up stock of sirene/sample/, as INSEE's files would be loaded (README, « The SIRENE directory »).
sirene-sample: migrate
	DEBUG=$${DEBUG:-true} $(PY) manage.py import_sirene --date 2026-11-01 \
	  --etablissements sirene/sample/StockEtablissement_sample.csv --unites-legales sirene/sample/StockUniteLegale_sample.csv

superuser: migrate
	DEBUG=true $(PY) manage.py createsuperuser

clean:
	rm -rf $(VENV) var .pytest_cache
