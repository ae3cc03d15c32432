"""Conversion time of llama.cpp's convert_hf_to_gguf.py against the checkpoint size.

    KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/export_conversion.py \
        --outtypes q8_0,f16 --out benchmarks/results/export_conversion.md

Random LLaMA checkpoints of a few sizes (bf16 safetensors, the SmolLM2 vocabulary) plus the real
SmolLM2-135M base when ``data/06_models/base`` holds it, each converted with the converter and
outtype the export pipeline uses (``python_tutor.pipelines.export.convert``).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from python_tutor.machine import machine
from python_tutor.pipelines.export.convert import convert_checkpoint, gguf_file_name

ROOT = Path(__file__).resolve().parents[1]
# (name, hidden, intermediate, layers, heads, kv heads): LLaMA shapes growing to ~SmolLM2 width.
SHAPES = (
    ("tiny-h64-l2", 64, 128, 2, 4, 2),
    ("small-h256-l4", 256, 768, 4, 4, 2),
    ("medium-h512-l8", 512, 1536, 8, 8, 4),
)
# Llama-3.2-1B's shape (hidden 2048, intermediate 8192, 16 layers, 32 heads, 8 K/V heads) with
# the SmolLM2 vocabulary: ~1B parameters.
LLAMA_1B = ("llama-1b-shape-h2048-l16", 2048, 8192, 16, 32, 8)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _random_checkpoint(shape: tuple, tokenizer_dir: Path, target: Path) -> Path:
    _, hidden, intermediate, layers, heads, kv_heads = shape
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _real_base() -> Path | None:
    found = sorted((ROOT / "data" / "06_models" / "base").glob("*/config.json"))
    return found[0].parent if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outtypes", default="q8_0,f16")
    parser.add_argument("--with-1b", action="store_true", help="add a Llama-3.2-1B-shaped row")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "conf/base/parameters_export.yml").read_text())["export"]
    script = str(ROOT / params["converter"]["dir"] / "convert_hf_to_gguf.py")
    real = _real_base()
    if real is None:
        raise SystemExit("No base checkpoint in data/06_models/base: run the pipeline once first")

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints = [
            (shape[0], _random_checkpoint(shape, real, Path(scratch) / shape[0]))
            for shape in (*SHAPES, *([LLAMA_1B] if args.with_1b else []))
        ]
        checkpoints.append(("SmolLM2-135M (real)", real))
        for name, checkpoint in checkpoints:
            size = _size(checkpoint)
            for outtype in args.outtypes.split(","):
                outfile = Path(scratch) / gguf_file_name(name.split()[0], outtype)
                seconds = convert_checkpoint(script, checkpoint, outfile, outtype)
                rows.append((name, size, outtype, seconds, outfile.stat().st_size))
                outfile.unlink()
                print(f"{name} {outtype}: {seconds:.1f} s")

    lines = [
        "# Export: conversion time against checkpoint size",
        "",
        "Command: `KEDRO_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 .venv/bin/python "
        f"benchmarks/export_conversion.py --outtypes {args.outtypes}"
        f"{' --with-1b' if args.with_1b else ''} --out <this file>`",
        "",
        f"Machine: {machine()} (shared), {platform.platform()}. Converter: "
        f"`{params['converter']['dir']}/convert_hf_to_gguf.py`, one subprocess per row (its "
        "start-up, about the imports of torch and transformers, is included). Load average at "
        f"the end: {os.getloadavg()[0]:.1f} (other jobs share these cores: times are upper "
        "bounds).",
        "",
        "| checkpoint (bf16) | MB | outtype | seconds | GGUF MB | MB/s |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, size, outtype, seconds, gguf in rows:
        lines.append(
            f"| {name} | {size / 1e6:.1f} | {outtype} | {seconds:.1f} | {gguf / 1e6:.1f} "
            f"| {size / 1e6 / seconds:.1f} |"
        )
    for outtype in args.outtypes.split(","):
        points = [(size / 1e6, seconds) for _, size, kind, seconds, _ in rows if kind == outtype]
        slope, start = np.polyfit(*zip(*points, strict=True), deg=1)
        lines.append(
            f"\n{outtype}: seconds = {start:.1f} + {slope * 1000:.1f} x GB (least squares over "
            f"{len(points)} rows): the fixed start-up dominates below a few hundred MB."
        )
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
