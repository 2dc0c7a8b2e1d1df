# The two commands a fresh clone needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
REPLICAS ?= 1
# The fleet benchmark's size (make bench BENCH_GATEWAYS=2000 BENCH_DOMAINS=1000 for a shorter run).
BENCH_GATEWAYS ?= 10000
BENCH_DOMAINS ?= 5000
ROLE ?=
ACCOUNT ?=
# make run DEMO=0: start the platform without seeding the demo tenant.
DEMO ?= 1

.PHONY: help install run test check lint typecheck unit integration token asyncapi clients bench clean-dev web web-test chromium browser-test reliability reliability-cluster-short test-containers

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  make %-16s %s\n", $$1, $$2 }'

install: ## uv (pinned) and the locked workspace into .venv
	@$(PYTHON) -m uv --version 2>/dev/null | grep -q "$(UV_VERSION)" || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

run: install web ## the whole platform on this machine with a demo tenant seeded (make run DEMO=0: none)
	@RENTAL_DEMO=$(DEMO) $(RUN) python -m scripts.run_local --replicas $(REPLICAS)

test: install lint typecheck web chromium ## the whole suite against real Postgres and RabbitMQ, browser tests included
	@cd web/spa && npm test --silent
	@$(RUN) pytest --ignore=tests/reliability --ignore=tests/reliability_cluster
	@# The seeded fault run in a session of its own, on a Postgres and a RabbitMQ it starts and removes itself
	@# (the machine's own servers are never touched). The cluster fault run: make reliability-cluster-short,
	@# make reliability (20 seeds).
	@$(RUN) pytest tests/reliability

check: lint typecheck ## lint, types and the unit tests: the quick check before a commit (no servers needed)
	@$(RUN) pytest tests/unit -q

lint: install ## ruff: lint and format check
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .

typecheck: install ## strict mypy over the workspace
	@$(RUN) mypy

unit: install ## the unit tests (pure logic, fakes only there)
	@$(RUN) pytest tests/unit

integration: install ## the integration tests against the real Postgres and RabbitMQ
	@$(RUN) pytest tests/integration

token: install ## make token ROLE=<customer|partner|operator> [ACCOUNT=<id>]
	@$(RUN) python -m scripts.dev_token --role "$(ROLE)" $(if $(ACCOUNT),--account "$(ACCOUNT)")

asyncapi: install ## regenerate docs/asyncapi.json from the event models
	@$(RUN) python -m scripts.generate_asyncapi

clients: install ## regenerate the services' Python clients (openapi-python-client) into tests/clients/
	@$(RUN) python -m scripts.generate_clients

reliability-cluster-short: install ## the cluster fault run's short form, seed 1, on 3 RabbitMQ nodes and a Postgres standby of its own
	@$(RUN) pytest tests/reliability_cluster

reliability: install ## the long forms: 50 seeded fault runs, 20 cluster fault runs (report per seed), longer fuzzing (docs/reliability.md)
	@RENTAL_FAULT_SEEDS=50 $(RUN) pytest tests/reliability -s
	@RENTAL_CLUSTER_FAULT_SEEDS=20 $(RUN) pytest tests/reliability_cluster -s
	@RENTAL_FUZZ_MAX_EXAMPLES=200 $(RUN) pytest tests/security

bench: install ## every benchmark next to its raw baseline, one table at the end, figures kept in bench/results/ (~20 min)
	@$(RUN) python -m bench.outbox_throughput
	@$(RUN) python -m bench.wallet_throughput
	@$(RUN) python -m bench.clock_advance --accounts 100
	@$(RUN) python -m bench.clock_platform --accounts 100
	@$(RUN) python -m bench.fleet --gateways 500 --domains 1 --changes 10 --name fleet_one_domain
	@$(RUN) python -m bench.fleet --gateways $(BENCH_GATEWAYS) --domains $(BENCH_DOMAINS)
	@$(RUN) python -m bench.report

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

test-containers: install ## every image built, the platform in containers, the e2e story against it, testcontainers (README, "Containers")
	@$(RUN) python -m tests.containers.run
