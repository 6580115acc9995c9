# Junction: `make run` serves a laptop demo; `make test` is what CI runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint typecheck format install install-dev migrate clean lock lock-check

# Dependencies install from the lock files (every version pinned, what CI
# tested); the project itself then installs on top, so a dependency added to
# pyproject.toml since the last `make lock` still installs (unpinned, with a
# warning) instead of breaking the build.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q -e .
	@$(PY) tools/check_lock.py
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml requirements-dev.lock
	$(PY) -m pip install -q -r requirements-dev.lock
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_catalog
	$(PY) manage.py collectstatic --noinput -v 0

run: migrate
	$(PY) manage.py bootstrap_demo
	DEMO_BASE_URL=http://127.0.0.1:$(PORT)/demo-upstream/v1 $(PY) manage.py providers_status
	DEMO_BASE_URL=http://127.0.0.1:$(PORT)/demo-upstream/v1 $(VENV)/bin/uvicorn config.asgi:application --host 127.0.0.1 --port $(PORT) --lifespan on --no-access-log

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint typecheck
	$(PY) manage.py makemigrations --check --dry-run > /dev/null
	$(VENV)/bin/pytest

# Re-pin after changing dependencies in pyproject.toml: versions already pinned
# stay unless pyproject.toml now excludes them (UPGRADE=1 moves every pin to the
# newest allowed). The dev lock is constrained by the runtime lock, so both agree.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade,)
lock: install-dev
	$(PIP_COMPILE) --output-file requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint requirements.lock --output-file requirements-dev.lock pyproject.toml
	$(PY) tools/check_lock.py --strict

lock-check:
	python3 tools/check_lock.py --strict

clean:
	rm -rf $(VENV) var
