#!/usr/bin/env bash
# Build .gpubundle/: everything a lent GPU machine needs to run benchmarks/gpu/record.sh from a
# clean clone (`make gpu-bundle` calls this after `make setup` and the CPU formatting run).
#
# The machine (docs/gpu.md) has Python 3.12 with torch 2.11 (CUDA 13), transformers 5.17,
# peft 0.21, accelerate 1.15, triton, pandas, pyarrow, matplotlib and kedro's usual small
# dependencies, but no network, no pip index, and no unsloth, trl, datasets, bitsandbytes or
# kedro. What travels with the call is limited to 64 MiB in all, so the bundle holds
# xz-compressed tarballs that record.sh unpacks there:
#   site.tar.xz      packages the machine lacks (first on sys.path)
#   fallback.tar.xz  packages it may or may not have (last on sys.path: its own win)
#   llama.cpp.tar.xz llama.cpp's converter scripts + gguf-py (export.converter.dir)
#   tokenizer/       SmolLM2's tokenizer with the Llama-3 chat markers (no weights travel)
#   data/            the formatted conversations (data/05_model_input) and HumanEval-ES
#                    (data/03_primary/humaneval_es.jsonl: Apertium is CPU-side), newest versions
#
# Usage: benchmarks/gpu/make_bundle.sh PYTHON LLAMA_CPP_SRC
#   PYTHON: the project's interpreter (its pip downloads the wheels; its llama_cpp travels)
#   LLAMA_CPP_SRC: llama.cpp unpacked from the llama-cpp-python sdist (Makefile LLAMA_CPP_SRC)
set -euo pipefail
python=${1:?usage: make_bundle.sh PYTHON LLAMA_CPP_SRC}
llama_src=${2:?usage: make_bundle.sh PYTHON LLAMA_CPP_SRC}
out=.gpubundle
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Versions that run with the machine's torch 2.11 / transformers 5.17 / peft 0.21 (unsloth
# 2026.10.9 needs transformers<=5.17, trl<=1.15, datasets<5); the rest pinned as in
# .ci/constraints-cpu.txt.
constraint() { grep -i "^$1==" .ci/constraints-cpu.txt; }
site_specs=(
  "unsloth==2026.10.9" "unsloth-zoo==2026.10.9" "trl==1.15.0" "datasets==4.8.4"
  "bitsandbytes==0.50.2" "torchao==0.18.0" "cut-cross-entropy==25.1.1" tyro docstring-parser
  typeguard shtab msgspec structlog json5 nest-asyncio multiprocess dill
  "kedro==1.7.0" "kedro-datasets==9.6.0" kedro-telemetry omegaconf antlr4-python3-runtime
  dynaconf more-itertools parse tomli-w appdirs gitpython gitdb smmap cookiecutter binaryornot
  arrow python-slugify text-unidecode chardet types-python-dateutil
  # pytest with the plugin manager it was tested with (an older one there would break it)
  $(for name in pytest pluggy iniconfig pygments; do constraint "$name"; done)
)
fallback_specs=(
  $(for name in markdown-it-py mdurl markdownify beautifulsoup4 soupsieve pandera typing-inspect \
      mypy_extensions diskcache pydantic pydantic_core annotated-types typing-inspection six gguf \
      sentencepiece; do constraint "$name"; done)
)
download() {  # wheels for CPython 3.12 on x86-64 Linux, whatever this machine runs
  "$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d "$1" "${@:2}"
}
unpack() { for wheel in "$1"/*.whl; do "$python" -m zipfile -e "$wheel" "$2"; done; }

download "$work/site-wheels" "${site_specs[@]}"
download "$work/fallback-wheels" "${fallback_specs[@]}"
mkdir -p "$work/site" "$work/fallback"
unpack "$work/site-wheels" "$work/site"
unpack "$work/fallback-wheels" "$work/fallback"
# What a CUDA-13 LoRA run never loads: other CUDA/ROCm/XPU builds of bitsandbytes, torchao's
# fp8/QAT kernels, Unsloth's Apple (MLX) port, its CLI and studio, tests.
rm -f "$work"/site/bitsandbytes/libbitsandbytes_cuda1[12]*.so \
  "$work"/site/bitsandbytes/libbitsandbytes_{rocm,xpu}*.so \
  "$work"/site/torchao/_C_cutlass_90a*.so "$work"/site/torchao/_C_mxfp8*.so
rm -rf "$work"/site/{studio,test,tests,unsloth_cli,kedro_datasets_experimental}

# llama-cpp-python as built by `make setup`: ctypes bindings (pure Python) and plain C/C++
# shared libraries (not tied to a Python version; they need glibc 2.34). Each library is there
# three times (libx.so, .so.0, .so.0.N.M): one file, the other names as links.
llama_pkg=$("$python" -c "import importlib.util as u; print(list(u.find_spec('llama_cpp').submodule_search_locations)[0])")
cp -r "$llama_pkg" "$work/site/llama_cpp"
rm -rf "$work/site/llama_cpp/server" "$work"/site/llama_cpp/__pycache__
( cd "$work/site/llama_cpp/lib"
  for real in *.so.*.*.*; do
    base=${real%%.so.*}
    for alias in "$base.so" "$base.so.0"; do
      if [ -e "$alias" ] && cmp -s "$alias" "$real"; then ln -sf "$real" "$alias"; fi
    done
  done )
cp -r "$(dirname "$llama_pkg")"/llama_cpp_python-*.dist-info "$work/site/"

mkdir -p "$work/llama.cpp"
cp -r "$llama_src"/convert_hf_to_gguf.py "$llama_src"/convert_lora_to_gguf.py \
  "$llama_src"/conversion "$llama_src"/gguf-py "$work/llama.cpp/"

rm -rf "$out" && mkdir -p "$out"
for part in site fallback llama.cpp; do
  find "$work/$part" -name __pycache__ -prune -exec rm -rf {} +
  tar -C "$work/$part" -cf - . | xz -T0 -6 > "$out/$part.tar.xz"
done

"$python" - "$out/tokenizer" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from train_throughput import prepare_tokenizer
prepare_tokenizer(None, Path(sys.argv[1]))
PY

for dataset in 05_model_input/tutor_train 05_model_input/tutor_val 05_model_input/tutor_test \
               03_primary/humaneval_es; do
  newest=$(ls -d data/$dataset.jsonl/*/ 2>/dev/null | sort | tail -1)
  if [ -z "$newest" ]; then
    echo "no data/$dataset.jsonl: run the CPU pipelines first (make gpu-bundle does)"
    exit 1
  fi
  mkdir -p "$out/data/$dataset.jsonl"
  cp -r "${newest%/}" "$out/data/$dataset.jsonl/"
done
du -sh "$out"/* && du -sh "$out"
