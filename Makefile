# The project's verbs. `make run` and `make test` do all set-up on a fresh machine.
PYTHON      ?= python3.11
VENV        := .venv
TOOLS_VENV  := .venv-tools
BIN         := $(VENV)/bin
LAKE        ?= .lake
STACK_ENV   ?= default

.PHONY: run test test-fast lint bench build validate deploy test-trino clean venv tools-venv browser

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

test: venv tools-venv browser lint
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" $(BIN)/pytest -m "not trino" -n 2 --dist loadgroup

# The engine-fidelity tier: a real Trino server with the Iceberg connector.
test-trino: venv
	$(BIN)/python -m webevents.trino_server test

## Benchmarks ---------------------------------------------------------------
bench: venv
	$(BIN)/python -m bench.run_all

## AWS ----------------------------------------------------------------------
validate: tools-venv
	$(TOOLS_VENV)/bin/sam validate --lint
	$(TOOLS_VENV)/bin/cfn-lint template.yaml

build: tools-venv
	PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" $(TOOLS_VENV)/bin/sam build

deploy: build
	$(TOOLS_VENV)/bin/sam deploy --config-env $(STACK_ENV)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) $(LAKE) .aws-sam dbt/target dbt/logs
