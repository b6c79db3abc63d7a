# The README's two commands: `make demo` starts the product, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo serve test check lint format system-deps bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# `make demo PORT=8011` when port 8000 is taken (with TLS: instead of 8443).
demo: install
	$(BIN)/jobwerk demo $(if $(PORT),--port $(PORT))

serve: install
	$(BIN)/jobwerk serve $(if $(PORT),--port $(PORT))

# Debian packages the tests need: chromium for the dashboard's browser tests; nginx, Caddy,
# systemd-analyze, logrotate and pg_dump for the deployment and backup tests (tests/ops).
OPS_TOOLS := nginx:nginx-light caddy:caddy systemd-analyze:systemd logrotate:logrotate \
	pg_dump:postgresql-client

system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@missing=""; for tool in $(OPS_TOOLS); do \
		PATH="$$PATH:/usr/sbin" command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool#*:}"; \
	done; \
	test -z "$$missing" || { \
		echo "installing Debian's$$missing for the deployment and backup tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; }

test: install system-deps
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

bench: install
	$(BIN)/python bench/engine.py
