# The two commands a fresh clone needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
REPLICAS ?= 1
ROLE ?=
ACCOUNT ?=

.PHONY: install run test lint typecheck unit integration token asyncapi bench clean-dev web web-test chromium browser-test reliability

install: ## uv (pinned) and the locked workspace into .venv
	@$(PYTHON) -m uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

run: install web ## the whole platform on this machine, against the local Postgres and RabbitMQ
	@$(RUN) python -m scripts.run_local --replicas $(REPLICAS)

test: install lint typecheck web chromium ## the whole suite against real Postgres and RabbitMQ, browser tests included
	@cd web/spa && npm test --silent
	@$(RUN) pytest --ignore=tests/reliability --ignore=tests/reliability_cluster
	@# The seeded fault run in a session of its own, on a Postgres and a RabbitMQ it starts and removes itself
	@# (the machine's own servers are never touched). The cluster fault run's short form is a step of .ci/run.
	@$(RUN) pytest tests/reliability

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

reliability: install ## the long forms: 50 seeded fault runs, 20 cluster fault runs (report per seed), longer fuzzing (docs/reliability.md)
	@RENTAL_FAULT_SEEDS=50 $(RUN) pytest tests/reliability -s
	@RENTAL_CLUSTER_FAULT_SEEDS=20 $(RUN) pytest tests/reliability_cluster -s
	@RENTAL_FUZZ_MAX_EXAMPLES=200 $(RUN) pytest tests/security

bench: install ## benchmarks with their raw baselines (see bench/README.md; the 2,000-gateway one runs alone)
	@$(RUN) python -m bench.outbox_throughput
	@$(RUN) python -m bench.wallet_throughput

SPA := web/spa
$(SPA)/node_modules/.installed: $(SPA)/package.json $(SPA)/package-lock.json
	@cd $(SPA) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web: $(SPA)/node_modules/.installed ## the SPA: type check and production build into web/spa/dist (served by the BFF)
	@cd $(SPA) && npm run build --silent

web-test: web ## the SPA's unit tests (vitest)
	@cd $(SPA) && npm test --silent

chromium: ## Debian's Chromium for the browser tests (apt-get, as root)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

browser-test: install web chromium ## only the browser tests (screenshots in artifacts/web/)
	@$(RUN) pytest tests/e2e_web
