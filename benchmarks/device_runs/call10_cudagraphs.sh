# GPU call 10 (2026-11-30): CUDA graphs over the compiled layers (Inductor's triton.cudagraphs,
# what mode reduce-overhead sets; call 5's attempt died under the profiler), against the final
# (c) and (b), on 640 conversations (80 steps) so that each padded row length is recorded once
# and then replayed. No profiling.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
timeout 440 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 640 --worker-timeout 170 --out $OUT/bench \
  --variant "cudagraphs:env.TORCHINDUCTOR_CUDAGRAPHS=1" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/logs.tgz -C /tmp/w logs
