#!/usr/bin/env bash
# The GPU record, reproducible from a clean clone: `make gpu-bundle` here, then on a CUDA
# machine with .gpubundle/ next to the checkout (docs/gpu.md):
#
#   bash benchmarks/gpu/record.sh [STEP ...]      # default: pipeline tests bench adapter
#
#   pipeline  a random Llama-3.2-1B-shaped checkpoint as base_model, then
#             `kedro run --env gpu --pipelines training,export,evaluation` (llama-3.1 layout)
#   tests     pytest -m gpu
#   bench     benchmarks/train_throughput.py steady state: conf/gpu against Unsloth tuned
#             for this GPU (padded and padding-free) and the Unsloth notebook recipe
#   adapter   benchmarks/train_throughput.py --time-to-adapter: process start to adapter saved
#   score     (CPU, after copying the device's results back) the evaluation's scoring nodes
#
# Logs and results go to $OUT (default ./gpu-out): machine.txt, one log per step and
# results.tgz (at most 6 files). Every step has its own time limit inside a budget for the whole call
# ($GPU_BUDGET_S, default 570 s), so one failure or overrun does not lose the others. Sizes
# are environment variables: ADAPTER_CONVERSATIONS (time to adapter, default 4000: at 18,000
# each row needs a 10-minute call of its own, docs/gpu.md), ADAPTER_CONFIGS, BENCH_CONVERSATIONS
# (steady state, default 640), BENCH_CONFIGS (" ": none, only BENCH_ARGS' variants), BENCH_LIMIT_S (the step's cap, default 330 s),
# BENCH_WORKER_TIMEOUT and BENCH_ARGS (more options of train_throughput.py, e.g. --variant rows
# or --shapes 3b); GPU_TESTS_K selects gpu tests (pytest -k).
#
# DRY_RUN=1 checks the whole script on a CPU with the project's venv (PYTHON=.venv/bin/python):
# a tiny model, SDPA instead of the CUDA-only varlen kernel, two training steps, the
# benchmark's --dry-run; the bundle's site packages (built for the GPU machine) stay unused.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
PYTHON=${PYTHON:-python3}
dry=${DRY_RUN:-}
shape=1b
extra_params=""
bench_dry=()
if [ -n "$dry" ]; then
  shape=tiny
  extra_params=",training.model.attn_implementation=sdpa,training.model.compile_layers=false"
  extra_params+=",training.sft.max_steps=2,training.sft.eval_steps=2,training.sft.save_steps=2"
  bench_dry=(--dry-run)
fi
steps=${*:-pipeline tests bench adapter}
budget_end=$(( $(date +%s) + ${GPU_BUDGET_S:-570} ))
work=$PWD/.gpuwork                  # git-ignored; survives between calls while the machine is warm
bundle=$PWD/.gpubundle
env_name=gpu_record                 # conf/gpu with the random checkpoint as base_model

unpack() {  # the bundle's tarballs, once per bundle version
  mkdir -p "$work"
  if [ ! -f "$work/.unpacked" ] || [ "$bundle/site.tar.xz" -nt "$work/.unpacked" ]; then
    rm -rf "$work/site" "$work/fallback" "$work/llama.cpp"
    for part in site fallback llama.cpp; do  # Python's tarfile: no xz tool needed there
      "$PYTHON" -m tarfile -e "$bundle/$part.tar.xz" "$work/$part" || return 1
    done
    touch "$work/.unpacked"
  fi
  # the bundle's packages first, the machine's own next, the fallbacks last
  local own
  own=$("$PYTHON" -c "import sys; print(':'.join(p for p in sys.path if p.endswith(('site-packages', 'dist-packages'))))")
  if [ -n "$dry" ]; then export PYTHONPATH=$PWD/src
  else export PYTHONPATH=$work/site:$PWD/src:$own:$work/fallback; fi
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
    KEDRO_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
  export PYTHON_TUTOR_GPU_TOKENIZER=$bundle/tokenizer   # the gpu tests' fixtures read it
}

limit() {  # seconds a step may run: its own cap, or what is left of the call's budget
  local left=$(( budget_end - $(date +%s) - 10 ))
  echo $(( left < $1 ? (left > 0 ? left : 1) : $1 ))
}

newest() { ls -d "$1"/*/ 2>/dev/null | sort | tail -1; }

checkpoint() {  # a randomly initialised Llama-3.2-1B (no weights can reach the machine)
  "$PYTHON" - "$shape" "$bundle/tokenizer" "$work/random-llama-3.2-$shape" <<'PY'
import sys
from pathlib import Path

import torch

sys.path.insert(0, "benchmarks")
from train_throughput import make_checkpoint

device = "cuda" if torch.cuda.is_available() else "cpu"
print(make_checkpoint(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), device))
PY
}

make_env() {  # conf/gpu_record = conf/gpu + this checkpoint + persisted generations
  rm -rf "conf/$env_name" && cp -r conf/gpu "conf/$env_name"
  sed -i "s#^base_model: .*#base_model: $work/random-llama-3.2-$shape#" "conf/$env_name/globals.yml"
  cp benchmarks/gpu/catalog_generations.yml "conf/$env_name/"
}

step_pipeline() {
  checkpoint || return 1
  mkdir -p data/05_model_input data/03_primary
  cp -r "$bundle"/data/05_model_input/* data/05_model_input/
  cp -r "$bundle"/data/03_primary/* data/03_primary/
  # export.converter.dir's default names the sdist's llama.cpp; here the bundle's converter
  # stands in (--params cannot set it: Kedro replaces a whole block that conf/gpu lacks)
  local converter
  converter=$("$PYTHON" -c "import yaml; print(yaml.safe_load(open('conf/base/parameters_export.yml'))['export']['converter']['dir'])")
  [ -e "$converter" ] || { mkdir -p "$(dirname "$converter")" && ln -s "$work/llama.cpp" "$converter"; }
  make_env
  local to=()
  # lingua (the language identifier, a 96 MB binary) cannot travel: without it the run stops
  # after the three models' generations (every training and export node runs), and
  # `record.sh score` finishes on a CPU with the persisted generations
  # (DRY_RUN takes the same path)
  if [ -n "$dry" ] || ! "$PYTHON" -c "import lingua" 2>/dev/null; then
    to=(--to-outputs training_loss_plot,export_report,base_model_outputs,fine_tuned_model_outputs,gguf_model_outputs)
  fi
  timeout "$(limit 330)" "$PYTHON" -m kedro run --env "$env_name" \
    --pipelines training,export,evaluation "${to[@]}" \
    --params "tracking.enabled=false$extra_params"
}

step_score() {  # on a CPU, PYTHON=.venv/bin/python: the scoring nodes over the device's answers
  make_env
  PYTHONPATH=$PWD/src "$PYTHON" -m kedro run --env "$env_name" --pipelines evaluation \
    --from-nodes score_evaluation_node --params tracking.enabled=false
}

step_tests() {  # each file in its own process: Unsloth's patches must not reach the others
  local failed=0 file rc
  for file in $(find tests -name "test_*_gpu.py" | sort); do
    timeout "$(limit 240)" "$PYTHON" -m pytest -m gpu -p no:cacheprovider -rA -q \
      ${GPU_TESTS_K:+-k "$GPU_TESTS_K"} "$file"
    rc=$?  # 5: GPU_TESTS_K selected nothing in this file
    [ $rc -eq 0 ] || [ $rc -eq 5 ] || failed=1
  done
  return $failed
}

bench_common=(--shapes 1b --tokenizer "$bundle/tokenizer" --work-dir "$work/bench" "${bench_dry[@]}")

step_bench() {
  local data
  data=$(newest "$bundle/data/05_model_input/tutor_train.jsonl")tutor_train.jsonl
  timeout "$(limit "${BENCH_LIMIT_S:-330}")" "$PYTHON" benchmarks/train_throughput.py \
    "${bench_common[@]}" --configs ${BENCH_CONFIGS:-conf-gpu unsloth-tuned unsloth-tuned-padding-free} \
    --data "$data" --conversations "${BENCH_CONVERSATIONS:-640}" \
    --worker-timeout "${BENCH_WORKER_TIMEOUT:-200}" ${BENCH_ARGS:-} --out "$work/results/bench"
}

step_adapter() {
  local data
  data=$(newest "$bundle/data/05_model_input/tutor_train.jsonl")tutor_train.jsonl
  timeout "$(limit 560)" "$PYTHON" benchmarks/train_throughput.py "${bench_common[@]}" \
    --time-to-adapter --configs ${ADAPTER_CONFIGS:-conf-gpu unsloth-tuned} \
    --data "$data" --conversations "${ADAPTER_CONVERSATIONS:-4000}" --worker-timeout 540 \
    --out "$work/results/adapter"
}

if [ "$steps" != score ]; then
  unpack || { echo "cannot unpack $bundle (carry .gpubundle, built by make gpu-bundle)"; exit 1; }
fi
{ nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv
  lscpu | grep -m1 "Model name"; nproc; date -u; "$PYTHON" -V
  "$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__)"
  for module in unsloth trl datasets bitsandbytes kedro llama_cpp gguf lingua pandera pydantic matplotlib pytest; do
    "$PYTHON" -c "import $module, sys; print('$module', getattr($module, '__version__', '?'), $module.__file__)" 2>&1 | tail -1
  done; } > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
for step in $steps; do
  started=$(date +%s)
  "step_$step" > "$OUT/$step.log" 2>&1
  echo "step $step: exit $? after $(( $(date +%s) - started )) s (log $OUT/$step.log)" | tee -a "$OUT/machine.txt"
  grep -v "it/s\]\|s/it\]\|^{'loss'" "$OUT/$step.log" | tail -25
done
# the small results (no weights) in one archive, paths relative to the repository root: unpack
# it in a checkout (tar xzf results.tgz) to run `record.sh score` there
rel=${work#"$PWD"/}
tar czf "$OUT/results.tgz" --ignore-failed-read \
  $(ls -d data/08_reporting data/07_model_output "$rel/results" 2>/dev/null) \
  $(find data/06_models -name "*.json" -size -2M 2>/dev/null) \
  $(ls "$rel"/bench/*.result.json 2>/dev/null) $(ls -d "$rel"/bench/logs 2>/dev/null)
ls -la "$OUT"
