# GPU call 2 (session 3): the new conf/gpu (hf + Liger + torch_varlen + fused AdamW) with a profile,
# row-length buckets, cuBLASLt, torch.compile; then `kedro run --pipeline training --env gpu`.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w; date -u
timeout 420 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --out /tmp/w/bench --conversations 240 --worker-timeout 140 --profile-steps 3 \
  --variant "pad256:sft.pad_to_multiple_of=256" \
  --variant "pad256-lt:sft.pad_to_multiple_of=256,env.TORCH_BLAS_PREFER_CUBLASLT=1" \
  --variant "compile:sft.torch_compile=true" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
cp -r .gpubench/data/05_model_input/* data/05_model_input/
sed -i "s#^base_model: .*#base_model: /tmp/w/random-llama-3.2-1b#" conf/gpu/globals.yml
timeout 150 python3 -m kedro run --pipeline training --env gpu --params "training.sft.max_steps=12,training.sft.eval_steps=6" > /tmp/w/logs/kedro_gpu.log 2>&1; echo "kedro rc $?"
grep -v "it/s\]" /tmp/w/logs/kedro_gpu.log | tail -25
cp data/08_reporting/training_metrics.json/*/training_metrics.json /tmp/w/logs/ 2>/dev/null
tar czf $OUT/all.tgz -C /tmp/w logs bench
