# The project's verbs. `make run` and `make test` do all set-up on a fresh machine.
PYTHON      ?= python3.11
VENV        := .venv
TOOLS_VENV  := .venv-tools
BIN         := $(VENV)/bin
LAKE        ?= .lake
STACK_ENV   ?= default

.PHONY: run test test-fast test-calendar lint bench build validate deploy test-trino clean venv tools-venv browser

## Environments -------------------------------------------------------------
$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(TOOLS_VENV)/bin/.installed: requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/pip install --quiet -r requirements-tools.txt
	touch $@

venv: $(BIN)/.installed
tools-venv: $(TOOLS_VENV)/bin/.installed

# Debian's Chromium renders the HTML report in the browser test; node runs the tracker's
# unit tests (tracker/test/).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v node >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }

## Main job -----------------------------------------------------------------
run: venv
	$(BIN)/webevents run --lake $(LAKE)

## Checks -------------------------------------------------------------------
lint: venv
	$(BIN)/ruff check webevents transform_lambda tests bench
	$(BIN)/sqlfluff lint sql dbt --processes 2
	# dbt again with is_incremental() false: the full-refresh branches (lint/full_refresh.cfg)
	$(BIN)/sqlfluff lint dbt --config lint/full_refresh.cfg --processes 2

test: venv tools-venv browser lint
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" $(BIN)/pytest -m "not trino and not calendar" \
		-n 2 --dist loadgroup

# The sample follows the day it runs: check every figure against the tables on 31
# consecutive days by the clock the code reads. FULL=1 runs the whole end-to-end module
# (pipeline, dbt, report) once per day instead (about 30 s a day).
test-calendar: venv browser
ifeq ($(FULL),1)
	for offset in $$(seq 0 30); do \
		day=$$(date -u -d "2026-11-20 + $$offset days" +%F); echo "== $$day"; \
		WEBEVENTS_E2E_TODAY="$${day}T09:30:00" $(BIN)/pytest -q -p no:randomly \
			tests/e2e/test_run_end_to_end.py || exit 1; \
	done
else
	$(BIN)/pytest -m calendar -n 2 --dist loadgroup -q tests/e2e
endif

# The engine-fidelity tier: a real Trino server with the Iceberg connector. Its server and
# plugins come from Maven Central through mvn (Debian's maven, installed when missing).
test-trino: venv
	@command -v mvn >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null; }
	$(BIN)/python -m webevents.dev.trino_server test

## Benchmarks ---------------------------------------------------------------
bench: venv
	$(BIN)/python -m bench.run_all

## AWS ----------------------------------------------------------------------
validate: tools-venv
	$(TOOLS_VENV)/bin/sam validate --lint
	$(TOOLS_VENV)/bin/cfn-lint template.yaml

build: tools-venv
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" $(TOOLS_VENV)/bin/sam build

# The stack, then the daily job's source: the schedule is ENABLED from the first deploy, so
# its first run must find the zip (docs/operations.md, first deploy).
deploy: build
	$(TOOLS_VENV)/bin/sam deploy --config-env $(STACK_ENV)
	$(MAKE) upload-source STACK_ENV=$(STACK_ENV)

.PHONY: upload-source smoke

# The committed tree (HEAD), zipped, to the stack's BuildSourceLocation output.
upload-source: venv
	mkdir -p .aws-sam
	git archive --format=zip -o .aws-sam/webevents-source.zip HEAD
	$(BIN)/webevents upload-source --stack "$$($(BIN)/python -m webevents.aws.stack $(STACK_ENV))" \
		.aws-sam/webevents-source.zip

# Tagged events through the deployed stack, hop by hop (docs/operations.md, smoke test).
smoke: venv
	$(BIN)/webevents smoke --stack "$$($(BIN)/python -m webevents.aws.stack $(STACK_ENV))" $(SMOKE_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(LAKE) .aws-sam dbt/target dbt/logs
