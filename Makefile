# The two commands a fresh clone needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
REPLICAS ?= 1
ROLE ?=
ACCOUNT ?=

.PHONY: install run test lint typecheck unit integration token asyncapi bench clean-dev

install: ## uv (pinned) and the locked workspace into .venv
	@$(PYTHON) -m uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

run: install ## the whole platform on this machine, against the local Postgres and RabbitMQ
	@$(RUN) python -m scripts.run_local --replicas $(REPLICAS)

test: install lint typecheck ## the whole suite against real Postgres and RabbitMQ
	@$(RUN) pytest

lint: install
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

typecheck: install
	@$(RUN) mypy

unit: install
	@$(RUN) pytest tests/unit

integration: install
	@$(RUN) pytest tests/integration

token: install ## make token ROLE=<customer|partner|operator> [ACCOUNT=<id>]
	@$(RUN) python -m scripts.dev_token --role "$(ROLE)" $(if $(ACCOUNT),--account "$(ACCOUNT)")

asyncapi: install ## regenerate docs/asyncapi.json from the event models
	@$(RUN) python -m scripts.generate_asyncapi

bench: install ## benchmarks with their raw baselines (see bench/README.md)
	@$(RUN) python -m bench.outbox_throughput
