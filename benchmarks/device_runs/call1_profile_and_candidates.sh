# GPU call 1 (session 3): profile (c) and (a), then the hf+Liger / varlen / Unsloth-padded candidates.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs $OUT/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
python3 -c "import torch, inspect; from torch.nn.attention.varlen import varlen_attn; print(torch.__version__, inspect.signature(varlen_attn))"
HF="backend=hf,sft.use_liger_kernel=true"
timeout 560 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --out $OUT/bench --conversations 240 --worker-timeout 100 --profile-steps 3 \
  --variant "hf-liger-pf-varlen:$HF,sft.padding_free=true,model.attn_implementation=torch_varlen" \
  --variant "hf-liger-pf-varlen-fused:$HF,sft.padding_free=true,model.attn_implementation=torch_varlen,sft.optim=adamw_torch_fused" \
  --variant "hf-liger-pf-sdpa:$HF,sft.padding_free=true" \
  --variant "hf-liger-padded:$HF" \
  --variant "unsloth-padded:env.UNSLOTH_PADDING_CHOICE=padded,sft.train_sampling_strategy=group_by_length" \
  --variant "unsloth-fused:sft.optim=adamw_torch_fused" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
cp /tmp/w/logs/*.profile.txt $OUT/ 2>/dev/null; tar czf $OUT/logs.tgz -C /tmp/w logs
