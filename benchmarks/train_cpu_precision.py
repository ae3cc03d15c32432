"""CPU LoRA step cost by how the frozen base weights are held: fp32, bf16 weights under bf16
autocast, fp32 weights under bf16 autocast (what the training pipeline does on CPU).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/train_cpu_precision.py \
        --out benchmarks/results/train_cpu_precision.md

One fresh process per mode (``--mode`` runs one and prints a JSON line). The base checkpoint is
the materialised ``base_model`` (``data/06_models/base/*``, SmolLM2-135M by default); LoRA r=16
on all 7 projections, AdamW, batches of 4 x 300 random tokens, one warm-up step, then ``--steps``
timed steps. CPU seconds per step (process time, all threads) are reported beside wall time
because the 2 cores here are shared: CPU time is the steadier measure of the mode's own cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from python_tutor.machine import machine
from python_tutor.precision import probe, resolve_precision

ROOT = Path(__file__).resolve().parents[1]
MODES = {
    "fp32": ("float32", False),
    "bf16-weights-autocast": ("bfloat16", True),
    "fp32-weights-autocast": ("float32", True),
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def run_mode(mode: str, base: Path, steps: int, batch: int, length: int) -> dict:
    """Time LoRA training steps of one mode in this process."""
    import torch  # noqa: PLC0415 - the parent process only starts children
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    dtype, autocast = MODES[mode]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=getattr(torch, dtype))
    config = LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, target_modules=TARGETS)
    model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, model.config.vocab_size, (batch, length))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(steps):
        step()
    cpu, wall = (time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps
    tokens = batch * length
    return {
        "mode": mode,
        "cpu_s_per_step": cpu,
        "wall_s_per_step": wall,
        "tokens_per_cpu_s": tokens / cpu,
        "tokens_per_s": tokens / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=MODES)
    parser.add_argument("--base", type=Path, help="checkpoint dir (default: the materialised one)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    base = args.base or next((ROOT / "data" / "06_models" / "base").glob("*/config.json")).parent
    if args.mode:
        print(json.dumps(run_mode(args.mode, base, args.steps, args.batch, args.length)))
        return
    rows = []
    for mode in MODES:
        command = [sys.executable, __file__, "--mode", mode, "--base", str(base)]
        command += ["--steps", str(args.steps), "--batch", str(args.batch)]
        command += ["--length", str(args.length)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1])
    fastest = max(r["tokens_per_cpu_s"] for r in rows)
    shown = base.relative_to(ROOT) if base.is_relative_to(ROOT) else base
    lines = [
        "# Training on CPU: how to hold the frozen base weights",
        "",
        f"Command: `.venv/bin/python benchmarks/train_cpu_precision.py --steps {args.steps} "
        f"--batch {args.batch} --length {args.length} --out <this file>`",
        "",
        f"Machine: {machine()} (shared); oneDNN native bf16: {probe().cpu_bf16} "
        f"(`auto` trains in {resolve_precision('auto', 'training.model.precision').name}). "
        f"Base: `{shown}`, "
        f"LoRA r=16 on all 7 projections, batch {args.batch} x {args.length} tokens. "
        f"Load average at the end: {os.getloadavg()[0]:.1f} (other jobs share these cores).",
        "",
        "| mode | CPU s/step | wall s/step | tokens per CPU-second | tokens/s (wall) | vs best |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['cpu_s_per_step']:.1f} | {r['wall_s_per_step']:.1f} | "
            f"{r['tokens_per_cpu_s']:.0f} | {r['tokens_per_s']:.0f} | "
            f"{r['tokens_per_cpu_s'] / fastest:.2f} |"
        )
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
