# GPU call 15 (2026-12-01): the flash kernel's aten op called directly
# (`training.model.varlen_kernel: aten_flash`), which lets Inductor's C++ wrapper compile the
# layers (call 6 failed on varlen_attn's custom op), and CUDA graphs on top of it (call 13's
# segfault suspect was that custom op). First, whether the aten op with native GQA gives what
# varlen_attn with repeated K/V gives. The CUDA-graph row needs commit 9657c48's
# `training.model.cuda_graphs` applied to the working tree (`git show 9657c48 -- src | git apply -3`).
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u
python3 - <<'PY' 2>&1 | tail -3
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
print("aten GQA vs varlen_attn repeated: output max diff", (ref[0] - got[0]).abs().max().item(),
      "grad max diffs", [(a - b).abs().max().item() for a, b in zip(ref[1], got[1])])
PY
timeout 570 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 320 --worker-timeout 240 --out $OUT/bench \
  --variant "aten-flash:model.varlen_kernel=aten_flash" \
  --variant "aten-flash-cpp-wrapper:model.varlen_kernel=aten_flash,model.compile_options.cpp_wrapper=true" \
  --variant "aten-flash-cuda-graphs:model.varlen_kernel=aten_flash,model.cuda_graphs=true,env.PYTHONFAULTHANDLER=1,env.TORCH_LOGS=perf_hints" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
mkdir -p $OUT/results && cp /tmp/w/*.result.json $OUT/results/ 2>/dev/null
for f in /tmp/w/logs/*.log; do echo "== $f"; grep -v "Loading weights\|^\[RANK\|^{'loss'" $f | tail -25; done > $OUT/log_tails.txt
tar czf $OUT/logs.tgz -C /tmp/w logs
