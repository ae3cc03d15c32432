# GPU call 12 (2026-12-01): meant as the new 1B run of record. For this call only, the working
# tree's conf/gpu `compile_options` were `{emulate_precision_casts: true, combo_kernels: true,
# max_autotune: true}` (call 11's two options together), so "(c) conf/gpu" below is that and
# "previous" is the committed conf/gpu. It measured no faster, so the change was never committed;
# to repeat it, add --variant "both:model.compile_options={emulate_precision_casts: true,
# combo_kernels: true, max_autotune: true}" instead.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; nproc; date -u
timeout 545 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 160 --worker-timeout 300 --out $OUT/bench \
  --variant "previous:model.compile_options={emulate_precision_casts: true}" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
mkdir -p $OUT/results && cp /tmp/w/*.result.json $OUT/results/ 2>/dev/null
tar czf $OUT/logs.tgz -C /tmp/w logs
