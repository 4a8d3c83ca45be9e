# Two commands on a fresh machine: `make run` and `make test` (both install what they need).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 7071
DATA_DIR ?= .devdata
PYTEST_ARGS ?=

.PHONY: install browser checkov run test lint typecheck bench soak mutate openapi lock clean

install: $(VENV)/.installed node_modules/.installed

# Debian's Chromium for the one real-browser test of the MSA sign-in (Playwright drives it).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# Stamps record what was installed from which lock; the real files are prerequisites too, so
# a stamp left behind without them (a half-deleted folder) installs again.
$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements-dev.txt $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.bin/azurite node_modules/.bin/cosmosdb-server:
	@true  # missing: the stamp below re-runs npm ci

node_modules/.installed: package.json package-lock.json node_modules/.bin/azurite node_modules/.bin/cosmosdb-server
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov (infrastructure checks over infra/) pins many packages of its own: it lives in its
# own venv, from its own lock, so that it never constrains the suite's dependencies.
CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/bin/python:
	$(PYTHON) -m venv $(CHECKOV_VENV)

$(CHECKOV_VENV)/.installed: infra/checkov-requirements.txt $(CHECKOV_VENV)/bin/python
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/checkov-requirements.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --directory infra --framework bicep --skip-download --compact --quiet \
		--skip-path 'infra/modules/apps.bicep'

run: $(VENV)/.installed
	$(PY) -m devhost serve --port $(PORT) --data-dir $(DATA_DIR)

test: install browser $(CHECKOV_VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy function_app.py functions shared devhost bench tests

bench: install
	$(PY) -m bench $(if $(QUICK),--quick,)

# A bounded soak on Cosmos DB and Azurite (about 3 minutes; SOAK_SECONDS to change): bench/soak.json.
soak: install
	$(PY) -m bench.soak $(if $(SOAK_SECONDS),--seconds $(SOAK_SECONDS),)

# Mutation testing of the pure domain (tens of minutes on a shared machine; not part of `make
# test`): scores per file, the survivors, bench/mutation.json. MUTATE="catalog membership" for
# some modules only; JOBS=2 runs two mutants at once.
mutate: install
	$(PY) -m bench.mutation $(MUTATE) --jobs $(or $(JOBS),1)

openapi: install
	$(PY) -m functions.openapi

# Re-pin after editing pyproject.toml: requirements.txt (Azure's build) and the dev lock. Neither
# names this machine's package indexes: Azure's build resolves from PyPI.
lock:
	$(PY) -m piptools compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --output-file requirements.txt pyproject.toml
	$(PY) -m piptools compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links --extra dev --output-file requirements-dev.txt pyproject.toml
	$(PY) -m piptools compile --quiet --strip-extras --no-header --no-emit-index-url --no-emit-find-links \
		--output-file infra/checkov-requirements.txt infra/checkov-requirements.in

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
