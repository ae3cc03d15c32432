# GPU call 6 (2026-11-30): conf/gpu now compiles its decoder layers (no Liger); against it,
# Inductor's C++ wrapper (less Python per launch) and the eager layers without Liger (same
# numerics as compiled, for the loss curves).
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
timeout 560 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 240 --worker-timeout 240 --out $OUT/bench --profile-steps 3 \
  --variant "cpp-wrapper:model.compile_options={cpp_wrapper: true}" \
  --variant "eager:model.compile_layers=false" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/logs.tgz -C /tmp/w logs
