# GPU call 13 (2026-12-01): CUDA graphs over the compiled layers, now with a step mark per
# training step and sequence boundaries of one shape per row length (`training.model.cuda_graphs`),
# against (c) and (b) in one run, 640 conversations so that row lengths recur; first, whether the
# flash kernel gives the same answer with empty trailing sequences and a larger max length.
# `training.model.cuda_graphs` exists only at commit 9657c48 (taken out in fae69cd): check
# out its src/python_tutor/pipelines/training first.
export PYTHONPATH=$PWD/.gpusite:$PWD/src HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 KEDRO_DISABLE_TELEMETRY=true PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpubench/*.whl && export PYTHONPATH=$PYTHONPATH:/tmp/site
mkdir -p /tmp/w/logs /tmp/w/bench && tar -xJf .gpubench/tokenizer.tar.xz -C /tmp/w
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv; lscpu | grep -m1 "Model name"; date -u
python3 - <<'PY' 2>&1 | tail -3
import torch
from torch.nn.attention.varlen import varlen_attn
torch.manual_seed(0)
q, k, v = (torch.randn(64, 8, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
def run(cu, longest):
    out = varlen_attn(q, k, v, cu, cu, longest, longest, window_size=(-1, 0))
    grads = torch.autograd.grad((out.float() ** 2).sum(), (q, k, v))
    return out, grads
exact = run(torch.tensor([0, 20, 64], device="cuda", dtype=torch.int32), 44)
static = run(torch.tensor([0, 20, 64, 64, 64], device="cuda", dtype=torch.int32), 64)
print("empty sequences + larger max: same output", torch.equal(exact[0], static[0]), "same grads", all(torch.equal(a, b) for a, b in zip(exact[1], static[1])))
PY
timeout 560 python3 benchmarks/train_throughput.py --shapes 1b --configs conf-gpu unsloth-recipe \
  --tokenizer /tmp/w/tokenizer --data $(ls .gpubench/data/05_model_input/tutor_train.jsonl/*/tutor_train.jsonl | tail -1) \
  --work-dir /tmp/w --conversations 640 --worker-timeout 200 --out $OUT/bench \
  --variant "cuda-graphs:model.cuda_graphs=true,env.TORCH_LOGS=perf_hints" \
  2>&1 | grep -v "^{'loss'" | tee $OUT/bench.log
mkdir -p $OUT/results && cp /tmp/w/*conf-gpu*.result.json /tmp/w/*cuda-graphs*.result.json $OUT/results/ 2>/dev/null
grep -i "cudagraph\|skipping\|pending" /tmp/w/logs/1b-cuda-graphs.log | sort | uniq -c | sort -rn | head -20
tar czf $OUT/logs.tgz -C /tmp/w logs
