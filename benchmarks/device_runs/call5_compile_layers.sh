# GPU call 5 (2026-11-30): conf/gpu as it was against regional torch.compile of the decoder
# layers (with and without CUDA graphs), with per-step profiles.
# (Written when the knob was `model.compile_mode`; `model.compile_options` replaced it after this call.)
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
timeout 540 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 240 --worker-timeout 200 --out $OUT/bench --profile-steps 3 \
  --variant "compiled:model.compile_layers=true,sft.use_liger_kernel=false" \
  --variant "compiled-cudagraphs:model.compile_layers=true,model.compile_mode=reduce-overhead,sft.use_liger_kernel=false" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
tar czf $OUT/logs.tgz -C /tmp/w logs
