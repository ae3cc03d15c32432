# GPU call 16 (2026-12-01): the run of record for the 1B shape: (a), (b) and (c) with conf/gpu
# now calling the flash kernel's aten op and compiling the layers with Inductor's C++ wrapper,
# then ablations in the same run: without the C++ wrapper, conf/gpu as it was before (varlen_attn,
# Python wrapper) and eager layers. First, whether the aten op with native GQA gives what
# varlen_attn with repeated K/V gives.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
(nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u) | tee $OUT/machine.txt
python3 - <<'PY' 2>&1 | tail -3 | tee $OUT/gqa_check.txt
import torch
from torch.nn.attention.varlen import varlen_attn
torch.manual_seed(0)
q = torch.randn(512, 32, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
k, v = (torch.randn(512, 8, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(2))
cu = torch.tensor([0, 100, 300, 512], device="cuda", dtype=torch.int32)
def grads(out):
    return out, torch.autograd.grad((out.float() ** 2).sum(), (q, k, v))
ref = grads(varlen_attn(q, k.repeat_interleave(4, 1), v.repeat_interleave(4, 1), cu, cu, 212, 212, window_size=(-1, 0)))
got = grads(torch.ops.aten._flash_attention_forward(q, k, v, cu, cu, 212, 212, 0.0, True, False, scale=None)[0])
print("aten op, native GQA, against varlen_attn with K/V repeated: output max diff", (ref[0] - got[0]).abs().max().item(),
      "; dq, dk, dv max diffs", [(a - b).abs().max().item() for a, b in zip(ref[1], got[1])])
PY
timeout 560 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe baseline \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 320 --worker-timeout 240 --out $OUT/bench \
  --variant "no-cpp-wrapper:model.compile_options.cpp_wrapper=false" \
  --variant "before:model.varlen_kernel=varlen_attn,model.compile_options.cpp_wrapper=false" \
  --variant "eager-layers:model.compile_layers=false" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
mkdir -p $OUT/results && cp /tmp/w/*.result.json $OUT/results/ 2>/dev/null
tar czf $OUT/logs.tgz -C /tmp/w logs
