# GPU call 22 (2026-12-01, seventh session): the 3B shape with today's conf/gpu against the
# Unsloth recipe, on the device time left (~5 min): 160 conversations as in call 8, (c) and (b)
# only ((a) did not fit).
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u) | tee $OUT/machine.txt
DATA=$(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1)
timeout 225 python3 benchmarks/train_throughput.py --shapes 3b --configs conf-gpu unsloth-recipe \
  --tokenizer /tmp/w/tokenizer --data $DATA --work-dir /tmp/w --conversations 160 --worker-timeout 150 \
  --out $OUT/bench 2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/results.tgz -C /tmp/w $(cd /tmp/w && ls *.result.json) logs
