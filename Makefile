SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv proto lint format breaking test run ci bench bench-smoke compose-up compose-test compose-down base-images clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP) ## Create the virtualenv and install the project with dev tools

PROTOS := $(shell find protos -name '*.proto')

gen/.stamp: $(PROTOS) scripts/gen_protos.sh $(STAMP)
	PYTHON=$(BIN)/python scripts/gen_protos.sh gen
	# The editable install maps top-level packages when it runs, so it must see gen/'s.
	$(BIN)/pip install -q --no-deps -e .
	touch $@

proto: gen/.stamp ## Generate Python code and .pyi stubs from protos/ into gen/

lint: proto ## buf lint/format, ruff, mypy, import contracts, promtool on the alerting rules and scrape config
	$(BIN)/buf lint
	$(BIN)/buf format --exit-code -d
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd deploy/observability && promtool check rules alerts.yml && promtool check config prometheus.yml

format: $(STAMP) ## Apply buf format and ruff format
	$(BIN)/buf format -w
	$(BIN)/ruff format .

breaking: $(STAMP) ## Check protos for breaking changes against main
	$(BIN)/buf breaking --against '.git#branch=main'

test: proto ## Run the whole test suite (starts its own Redis servers)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: proto ## Run Redis and the three services in the foreground; Ctrl-C stops all
	$(BIN)/python -m devtools.run_stack

bench: proto ## Hot paths against their baselines in one run (~15 min on 2 cores); results in bench/results/
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-smoke: proto ## The bench harness at tiny sizes (~2 min with its variants) so it keeps working; its numbers mean nothing
	$(BIN)/python -m bench --smoke

# `docker compose` where a Docker engine answers, else podman-compose (ENGINE=docker|podman forces one);
# the Podman-only settings live in scripts/compose_stack.sh and podman/containers.conf.
compose-up: ## Build the image and start Redis and the three services, returning once healthy (reads .env)
	scripts/compose_stack.sh up

compose-test: proto ## Build and start the stack in containers, run the e2e suite against it, tear it down
	scripts/compose_stack.sh test

compose-down: ## Stop the compose stack; Redis data stays in the redis-data volume
	scripts/compose_stack.sh down

base-images: ## Pull python:3.11-slim and redis:7, or build Debian stand-ins where no registry answers
	scripts/base_images.sh

ci: lint test bench-smoke compose-test ## What CI runs (.ci/run installs the system packages first)

clean: ## Remove generated code and local state (keeps the venv)
	rm -rf gen .state
