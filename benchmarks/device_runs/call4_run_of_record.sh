# GPU call 5 (session 3): the run of record with the final conf/gpu, then ablations of it.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
timeout 450 python3 benchmarks/train_throughput.py --shapes 1b 3b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 160 --worker-timeout 200 --out $OUT/bench \
  --variant "lora-casting-on:model.lora_input_casting=true" \
  --variant "liger-no-rmsnorm:sft.liger_kernel_config={rms_norm: false}" \
  --variant "no-liger:sft.use_liger_kernel=false" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/logs.tgz -C /tmp/w logs
