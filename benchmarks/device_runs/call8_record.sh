# GPU call 8 (2026-11-30): the run of record: (a), (b) and (c) on the 1B and 3B shapes with the
# final conf/gpu (compiled decoder layers, Inductor keeping eager's bf16 rounding).
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
timeout 575 python3 benchmarks/train_throughput.py --shapes 1b 3b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 160 --worker-timeout 200 --out $OUT/bench \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/logs.tgz -C /tmp/w logs
