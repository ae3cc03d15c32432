# GPU call 21 (2026-12-01, seventh session): the run of record for the 1B shape on 640
# conversations with conf/gpu as committed after calls 19-20 (gc.freeze() after step 1 adopted,
# the merged linears dropped): (a), (b) and (c) in one run, nothing else.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u) | tee $OUT/machine.txt
DATA=$(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1)
timeout 420 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $DATA --work-dir /tmp/w --conversations 640 --worker-timeout 200 \
  --out $OUT/bench 2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/results.tgz -C /tmp/w $(cd /tmp/w && ls *.result.json) logs
