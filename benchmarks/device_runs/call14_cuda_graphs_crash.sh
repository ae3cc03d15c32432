# GPU call 14 (2026-12-01): where call 13's CUDA-graph worker segfaults (Python's fault handler),
# on a few steps.
# `training.model.cuda_graphs` exists only at commit 9657c48 (taken out in fae69cd): check
# out its src/python_tutor/pipelines/training first.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
timeout 200 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 64 --worker-timeout 120 --out $OUT/bench \
  --variant "cuda-graphs:model.cuda_graphs=true,env.PYTHONFAULTHANDLER=1,env.TORCH_LOGS=perf_hints" \
  2>&1 | grep -v "^{'loss'" | tail -5
grep -v "Loading weights\|^\[RANK" /tmp/w/logs/1b-cuda-graphs.log | tail -60 > $OUT/crash.txt
