# GPU call 11 (2026-12-01): (c) against two Inductor options on the 1B shape in one run:
# combo kernels (one launch for independent small kernels) and max-autotune (Triton GEMM
# templates instead of cuBLAS calls); and whether ATen's flash op is differentiable by itself.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; date -u
python3 - <<'PY' 2>&1 | tail -5
import torch
q, k, v = (torch.randn(64, 4, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
cu = torch.tensor([0, 20, 64], device="cuda", dtype=torch.int32)
out = torch.ops.aten._flash_attention_forward(q, k, v, cu, cu, 44, 44, 0.0, True, False)[0]
out.sum().backward()
print("aten flash differentiable:", q.grad is not None, float(q.grad.abs().sum()))
PY
timeout 540 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 160 --worker-timeout 280 --out $OUT/bench \
  --variant "combo:model.compile_options={emulate_precision_casts: true, combo_kernels: true}" \
  --variant "autotune:model.compile_options={emulate_precision_casts: true, max_autotune: true}" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
mkdir -p $OUT/results && cp /tmp/w/*.result.json $OUT/results/ 2>/dev/null
tar czf $OUT/logs.tgz -C /tmp/w logs
