# GPU call 17 (2026-12-01): the run of record for the 1B shape on 640 conversations (80 steps,
# 16 of warm-up: call 16's 32 measured steps took only 3.5 s): (a), (b) and (c) with conf/gpu
# (the flash kernel's aten op, layers compiled with Inductor's C++ wrapper), then (c) without
# the C++ wrapper. The workers' own files (per-step times) come back in results.tgz.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u) | tee $OUT/machine.txt
timeout 540 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 640 --worker-timeout 220 --out $OUT/bench \
  --variant "no-cpp-wrapper:model.compile_options.cpp_wrapper=false" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/results.tgz -C /tmp/w $(cd /tmp/w && ls *.result.json) logs
