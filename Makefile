# Two commands on a fresh machine: `make demo` and `make test`. Every install step lives here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
NPM_STAMP := node_modules/.install-stamp
PY_STAMP := $(VENV)/.install-stamp
ACTIONLINT := build/bin/actionlint
ACTIONLINT_VERSION := v1.7.7
# The real Pulumi CLI: $(PULUMI), else `pulumi` on PATH (.ci/run puts the offline build there).
PULUMI_CLI := $(or $(PULUMI),$(shell command -v pulumi 2>/dev/null))

.PHONY: help deps test typecheck lint lint-workflows mocha pytest e2e plan demo bench snapshots iam-actions clean

help:
	@echo "make demo       install, print the offline plan of every layer, run the optimizer against a local AWS emulator,"
	@echo "                then (with a pulumi CLI) deploy with the real engine, optimize, and show no drift"
	@echo "make test       install, then type check, lint (TypeScript and Python), mocha specs, pytest and the real-engine run (make e2e)"
	@echo "make e2e        the README's pulumi up loop, the optimizer and the no-drift check on the real Pulumi engine"
	@echo "make plan       offline plan of every layer (build/plan/*.json)"
	@echo "make bench      cost and scale benchmarks (writes bench/RESULTS.md)"
	@echo "make snapshots  accept the current offline plans as the reviewed snapshots"
	@echo "make iam-actions regenerate the optimizer's iam_actions.json from the actions its code declares"

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(PY_STAMP): optimizer/pyproject.toml
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -e './optimizer[lab,test,dev]'
	@touch $@

# actionlint is built from source through the Go module proxy (its prebuilt-binary installers
# download from GitHub, which CI machines cannot reach).
$(ACTIONLINT):
	GOBIN=$(abspath build/bin) GOFLAGS=-mod=mod go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

deps: $(NPM_STAMP) $(PY_STAMP)

typecheck: $(NPM_STAMP)
	npx tsc --noEmit -p tsconfig.json

lint: $(NPM_STAMP) $(PY_STAMP)
	npx eslint .
	npx prettier --check .
	cd optimizer && ../$(VENV)/bin/ruff check --config pyproject.toml . ../bench
	cd optimizer && ../$(VENV)/bin/ruff format --check --config pyproject.toml . ../bench
	cd optimizer && ../$(VENV)/bin/mypy

lint-workflows: $(ACTIONLINT)
	$(ACTIONLINT) -color=false

mocha: $(NPM_STAMP)
	npx mocha

pytest: $(PY_STAMP)
	$(VENV)/bin/pytest optimizer/tests -q -p no:cacheprovider

e2e: deps
ifeq ($(PULUMI_CLI),)
	@if [ "$$CI" = "true" ]; then echo "make e2e: no pulumi CLI on PATH and PULUMI is unset; CI must run the real engine (.ci/run puts one on PATH)" >&2; exit 1; fi
	@echo "make e2e: skipped, no pulumi CLI found: install one (https://www.pulumi.com/docs/iac/download-install/) or run make test PULUMI=/path/to/pulumi"
else
	E2E_POLICY_PACKS=$${E2E_POLICY_PACKS-policy} PULUMI=$(PULUMI_CLI) npx mocha --no-config -r ts-node/register/transpile-only --timeout 1200000 test/e2e/deploy.e2e.ts
endif

test: deps typecheck lint lint-workflows mocha pytest e2e
	@echo "make test: all checks passed"

plan: $(NPM_STAMP)
	npm run --silent plan -- all

demo: deps plan
	$(VENV_PY) -m ecs_optimizer_lab.demo
ifeq ($(PULUMI_CLI),)
	@echo "make demo: real-engine part skipped, no pulumi CLI found: install one or run make demo PULUMI=/path/to/pulumi"
else
	PULUMI=$(PULUMI_CLI) npx ts-node --transpile-only scripts/engine-demo.ts
endif

bench: deps plan
	$(VENV_PY) bench/run.py

# The plan snapshots are the only copy: the optimizer's tests and the benchmark read them in place.
snapshots: $(NPM_STAMP)
	UPDATE_SNAPSHOTS=1 npx mocha --no-config -r ts-node/register/transpile-only --timeout 300000 test/plan.spec.ts

# The optimizer's IAM actions: collected from the levers' and modules' declarations.
iam-actions: $(PY_STAMP)
	$(VENV_PY) -m ecs_optimizer.apply.permissions --write

clean:
	rm -rf build node_modules $(VENV) .ecs-optimizer
