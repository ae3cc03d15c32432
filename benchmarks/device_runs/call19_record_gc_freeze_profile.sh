# GPU call 19 (2026-12-01, seventh session): a new round of the run of record for the 1B shape on
# 640 conversations: (a), (b) and (c) with conf/gpu, then (c) with gc.freeze() after the first
# step (call 17's compiled worker lost ~11% to one 0.74 s full collection). Then a short profile
# of (c) whose report names the Python lines where the host waits for the GPU.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/p/logs && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u) | tee $OUT/machine.txt
DATA=$(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1)
timeout 470 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $DATA --work-dir /tmp/w --conversations 640 --worker-timeout 200 \
  --out $OUT/bench --variant "gc-freeze:model.gc_freeze=true" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/results.tgz -C /tmp/w $(cd /tmp/w && ls *.result.json) logs
timeout 95 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $DATA --work-dir /tmp/p --conversations 96 --worker-timeout 90 \
  --out /tmp/p/bench --profile-steps 3 2>&1 | grep -v "^{'loss'" | tail -5
cp /tmp/p/logs/*.profile.txt $OUT/ 2>/dev/null; date -u
